// Dashboard shell: login (with the two-factor step), the navigation, the homes list, and
// the other views, each a module loaded on first visit (router.js).

import * as api from "./api.js";
import { $, announce, clearError, messageOf, showError } from "./dom.js";
import { newHomeDialog, renderHomes } from "./homes.js";
import { resetLive, updateFromDevices } from "./live.js";
import { currentRoute, startRouter } from "./router.js";
import { followLive, liveEvents, startLive, stopLive } from "./socket.js";

let pending = null; // email and password kept only between the password and the code step
let session = null; // { me, homes, devices } while logged in
let routerStarted = false;
let shownView = null; // the module of the view on screen, told when it is left
let renderedShape = null; // what the homes list shows, minus live values

function showLogin() {
  pending = null;
  session = null;
  stopLive();
  resetLive();
  leaveView();
  for (const id of ["dashboard", "view", "account", "nav"]) $(id).hidden = true;
  $("homes").replaceChildren();
  renderedShape = null;
  $("view").replaceChildren();
  $("whoami").textContent = "";
  $("login").hidden = false;
  $("login-form").hidden = false;
  $("login-more").hidden = false;
  $("auth-flow").hidden = true;
  $("auth-flow").replaceChildren();
  $("totp-form").hidden = true;
  api.supports("POST", "/api/v1/auth/password-reset/request").then((offered) => {
    $("show-forgot").hidden = !offered; // mailed resets come with part 3 (issue #12)
  });
  $("password").value = "";
  $("totp").value = "";
  announce("");
  $("email").focus();
}

/** Replace the login form with another logged-out step (sign-up, reset), and a way back. */
function showAuthFlow(node) {
  $("login-form").hidden = true;
  $("totp-form").hidden = true;
  $("login-more").hidden = true;
  const back = document.createElement("button");
  Object.assign(back, { type: "button", className: "secondary", textContent: "Back to log in" });
  back.addEventListener("click", () => {
    clearError();
    showLogin();
  });
  $("auth-flow").replaceChildren(node, back);
  $("auth-flow").hidden = false;
  node.querySelector("input")?.focus();
}

/** Open a mailed link (#reset-password=…, #verify-email=…, #invitation=…) if the address holds one. */
async function openMailedLink() {
  if (!/^#(reset-password|verify-email|invitation)=/.test(location.hash)) return false;
  const auth = await import("./auth.js");
  const link = auth.takeMailedLink();
  if (link === null) return false;
  if (link.kind === "invitation") {
    showLogin();
    showAuthFlow(await auth.signUpForm((email, password) => attemptLogin(email, password), link.token));
    return true;
  }
  if (link.kind === "reset-password") {
    if (api.hasSession()) await api.logout().catch(() => {}); // a reset ends every session anyway
    showLogin();
    showAuthFlow(auth.resetForm(link.token, () => showLogin()));
    return true;
  }
  // the outcome is said after the login form or the dashboard is shown, which reset the
  // status and error lines
  let outcome;
  try {
    outcome = { message: await auth.verifyEmail(link.token) };
  } catch (err) {
    outcome = { error: messageOf(err) };
  }
  if (session === null) {
    if (api.hasSession()) await enterDashboard();
    else showLogin();
  }
  if (outcome.error) showError(outcome.error);
  else announce(outcome.message);
  return true;
}

function showTotpStep() {
  $("login-more").hidden = true;
  $("login-form").hidden = true;
  $("totp-form").hidden = false;
  $("totp").value = "";
  $("totp").focus();
}

/** Fetch the caller, homes and plugs, and draw the homes list. */
async function loadHomes() {
  announce("Loading your homes…");
  const [me, homes, devices] = await Promise.all([
    api.call("GET", "/api/v1/users/me"),
    api.call("GET", "/api/v1/homes"),
    api.call("GET", "/api/v1/devices"),
  ]);
  session = { me, homes, devices };
  $("whoami").textContent = me.display_name ? `${me.display_name} (${me.email})` : me.email;
  $("nav-admin").hidden = me.role !== "admin";
  updateFromDevices(devices); // live values change in place
  followLive(homes, devices); // and follow them over the websocket
  const shape = JSON.stringify([homes, devices.map(({ last_seen_at, online, ...fixed }) => fixed)]);
  if (shape !== renderedShape) { // homes or plugs themselves changed: draw the list anew
    renderHomes($("homes"), homes, devices);
    renderedShape = shape;
  }
  $("new-home").hidden = me.role === "guest";
  performance.mark("greennet:homes-rendered");
  announce(`${homes.length} ${homes.length === 1 ? "home" : "homes"}, ${devices.length} ${devices.length === 1 ? "plug" : "plugs"}`);
}

/** What views get: the session's data and ways to refresh it. */
export const context = {
  get me() {
    return session?.me;
  },
  get homes() {
    return session?.homes ?? [];
  },
  get devices() {
    return session?.devices ?? [];
  },
  reloadHomes: () => loadHomes(),
  setMe(me) {
    if (session) session.me = me;
    $("whoami").textContent = me.display_name ? `${me.display_name} (${me.email})` : me.email;
  },
  loggedOut: () => showLogin(),
};

function leaveView() {
  shownView?.leave?.();
  shownView = null;
}

async function showRoute({ view, params }) {
  if (session === null || view === "mailed-link") return;
  clearError();
  leaveView();
  for (const link of document.querySelectorAll("#nav a")) {
    const current = link.dataset.view === view || (view === "home" && link.dataset.view === "homes")
      || (view === "plug" && link.dataset.view === "homes");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "homes") {
    $("view").hidden = true;
    $("view").replaceChildren();
    $("dashboard").hidden = false;
    return;
  }
  $("dashboard").hidden = true;
  $("view").hidden = false;
  announce(""); // the homes count belongs to the homes list
  const container = $("view");
  if (view === null) {
    container.replaceChildren();
    showError("There is no such page here.");
    return;
  }
  try {
    const module = await import(`./${view}.js`);
    if (currentRoute().view !== view) return; // the user moved on while it loaded
    container.replaceChildren();
    shownView = module;
    await module.show(container, context, ...params);
    container.querySelector("h2")?.focus();
  } catch (err) {
    handleFailure(err);
  }
}

async function enterDashboard() {
  $("login").hidden = true;
  $("account").hidden = false;
  $("nav").hidden = false;
  try {
    await loadHomes();
    if (!routerStarted) {
      routerStarted = true;
      startRouter(showRoute);
    } else {
      showRoute(currentRoute());
    }
    if (currentRoute().view === "homes") $("homes-title").focus();
    offerParts().catch(() => {}); // after the first paint: never delays the homes list
    startLive({
      reload: () => loadHomes().then(() => showRoute(currentRoute())).catch(handleFailure),
      sessionEnded: () => {
        showLogin();
        showError("Your session ended (logged out elsewhere, or revoked). Log in again.");
      },
    });
  } catch (err) {
    handleFailure(err);
  }
}

// Alerts and notifications come with part 3 of the cloud (issue #12): their links appear
// once the server's OpenAPI document lists their routes.
async function offerParts() {
  const [alerts, notifications] = await Promise.all([
    api.supports("GET", "/api/v1/alerts"),
    api.supports("GET", "/api/v1/notifications"),
  ]);
  $("nav-alerts").hidden = !alerts;
  $("nav-notifications").hidden = !notifications;
  if (notifications) await (await import("./notifications.js")).refreshUnread();
}

// a notification pushed over the websocket: the unread count follows at once
liveEvents.addEventListener("notification", () => {
  if (!$("nav-notifications").hidden) import("./notifications.js").then((module) => module.refreshUnread()).catch(() => {});
});

// Any API failure: show the API's message; a session the server no longer accepts means login.
function handleFailure(err) {
  if (err instanceof api.ApiError && err.status === 401 && !api.hasSession()) showLogin();
  else announce("");
  showError(messageOf(err));
}
context.failed = handleFailure;

async function attemptLogin(email, password, totp, button = null) {
  clearError();
  if (button) button.disabled = true;
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
      showError(messageOf(err));
    }
  } finally {
    if (button) button.disabled = false;
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
    await loadHomes();
    showRoute(currentRoute());
  } catch (err) {
    handleFailure(err);
  }
});

// the skip link must not change the address: the hash holds the route
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  $("main").focus();
});

$("new-home").addEventListener("click", () => newHomeDialog(loadHomes));

$("logout").addEventListener("click", async () => {
  clearError();
  // whoever logs in next starts from the homes list, not from this account's last page
  history.replaceState(null, "", `${location.pathname}#/`);
  try {
    await api.logout();
    showLogin();
    announce("You are logged out.");
  } catch (err) {
    showLogin();
    showError(`Logged out here, but the server could not be told: ${err.message}`);
  }
});

$("show-signup").addEventListener("click", async () => {
  clearError();
  const auth = await import("./auth.js");
  showAuthFlow(await auth.signUpForm((email, password) => attemptLogin(email, password)));
});

$("show-forgot").addEventListener("click", async () => {
  clearError();
  showAuthFlow((await import("./auth.js")).forgotForm());
});

// a mailed link opened in a tab where the dashboard already runs
addEventListener("hashchange", () => {
  openMailedLink().catch((err) => showError(messageOf(err)));
});

async function boot() {
  if (await openMailedLink().catch(() => false)) return;
  if (api.hasSession()) enterDashboard();
  else showLogin();
}

boot();
