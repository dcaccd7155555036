// Dashboard wiring: login (with the two-factor step), logout, loading homes and plugs.
// Part 2 hooks in after loadDashboard: open the realtime websocket for live power and
// relay state, and add history and alerts views.

import * as api from "./api.js";
import { followMailLink, takeMailLink, wireForgotPassword, wireResetForm } from "./mail_links.js";
import { renderHomes } from "./render.js";

const $ = (id) => document.getElementById(id);
let pending = null; // email and password kept only between the password and the code step

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

function setStatus(text) {
  $("status").textContent = text;
}

function showLogin() {
  pending = null;
  $("dashboard").hidden = true;
  $("account").hidden = true;
  $("homes").replaceChildren();
  $("whoami").textContent = "";
  $("login").hidden = false;
  $("login-form").hidden = false;
  $("totp-form").hidden = true;
  $("forgot-form").hidden = true;
  $("password").value = "";
  $("totp").value = "";
  setStatus("");
  $("email").focus();
}

function showTotpStep() {
  $("login-form").hidden = true;
  $("totp-form").hidden = false;
  $("totp").value = "";
  $("totp").focus();
}

async function loadDashboard() {
  setStatus("Loading your homes…");
  const [me, homes, devices] = await Promise.all([
    api.call("GET", "/api/v1/users/me"),
    api.call("GET", "/api/v1/homes"),
    api.call("GET", "/api/v1/devices"),
  ]);
  $("whoami").textContent = me.display_name ? `${me.display_name} (${me.email})` : me.email;
  renderHomes($("homes"), homes, devices);
  setStatus(`${homes.length} ${homes.length === 1 ? "home" : "homes"}, ${devices.length} ${devices.length === 1 ? "plug" : "plugs"}`);
}

async function enterDashboard() {
  $("login").hidden = true;
  $("dashboard").hidden = false;
  $("account").hidden = false;
  try {
    await loadDashboard();
    $("homes-title").focus();
  } catch (err) {
    failed(err);
  }
}

// Any API failure: show the API's message; a session the server no longer accepts means login.
function failed(err) {
  if (err instanceof api.ApiError && err.status === 401 && !api.hasSession()) showLogin();
  else setStatus("");
  showError(err instanceof api.ApiError ? err.message : "Something went wrong. Try again.");
}

async function attemptLogin(email, password, totp, button) {
  clearError();
  button.disabled = true;
  try {
    await api.login(email, password, totp);
    pending = null;
    $("password").value = "";
    $("totp").value = "";
    await enterDashboard();
  } catch (err) {
    if (err instanceof api.ApiError && err.code === "totp_required") {
      pending = { email, password };
      showTotpStep();
    } else {
      showError(err instanceof api.ApiError ? err.message : "Something went wrong. Try again.");
    }
  } finally {
    button.disabled = false;
  }
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  attemptLogin($("email").value.trim(), $("password").value, undefined, $("login-submit"));
});

$("totp-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (pending === null) return showLogin();
  attemptLogin(pending.email, pending.password, $("totp").value.trim(), $("totp-submit"));
});

$("totp-cancel").addEventListener("click", () => {
  clearError();
  showLogin();
});

$("reload").addEventListener("click", async () => {
  clearError();
  try {
    await loadDashboard();
  } catch (err) {
    failed(err);
  }
});

$("logout").addEventListener("click", async () => {
  clearError();
  try {
    await api.logout();
    showLogin();
    setStatus("You are logged out.");
  } catch (err) {
    showLogin();
    showError(`Logged out here, but the server could not be told: ${err.message}`);
  }
});

// a link mailed by the service: on first load, or when it opens in a tab already here
const afterMailLink = (message) => {
  showLogin();
  setStatus(message);
};
const mailLinks = { showError, clearError, setStatus, done: afterMailLink };
wireForgotPassword(mailLinks);
wireResetForm(mailLinks);
window.addEventListener("hashchange", () => {
  const link = takeMailLink();
  if (link !== null) followMailLink(link, mailLinks);
});

const mailLink = takeMailLink();
if (mailLink !== null) followMailLink(mailLink, mailLinks);
else if (api.hasSession()) enterDashboard();
else showLogin();
