// Links mailed by GreenNet Cloud land here: /app/#verify-email=<token> confirms an address,
// /app/#reset-password=<token> asks for a new password. The token is taken out of the
// address bar at once (a fragment never reaches a server, but it stays in history).
// "Forgot your password?" on the login form asks for such a mail.

import * as api from "./api.js";

const $ = (id) => document.getElementById(id);
const LINK = /^#(verify-email|reset-password)=([A-Za-z0-9_-]{10,200})$/;

/** The mailed link this page was opened with ({kind, token}), or null. */
export function takeMailLink() {
  const found = LINK.exec(window.location.hash);
  if (!found) return null;
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  return { kind: found[1], token: found[2] };
}

let resetToken = null; // the reset link being followed

/** Act on a mailed link; `done(message)` shows the outcome and returns to the login. */
export async function followMailLink(link, { showError, setStatus, done }) {
  if (link.kind === "verify-email") {
    setStatus("Confirming your address…");
    try {
      await api.publicCall("POST", "/api/v1/auth/verify-email", { token: link.token });
      done("Your e-mail address is confirmed. GreenNet may now send you alerts by mail.");
    } catch (err) {
      done("");
      showError(err.message);
    }
    return;
  }
  resetToken = link.token;
  $("login").hidden = true;
  $("dashboard").hidden = true;
  $("mail-link").hidden = false;
  setStatus("");
  $("new-password").focus();
}

/** Wire the new-password form of a reset link (once). */
export function wireResetForm({ showError, clearError, done }) {
  $("reset-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (resetToken === null) return;
    clearError();
    $("reset-submit").disabled = true;
    try {
      await api.publicCall("POST", "/api/v1/auth/password-reset", {
        token: resetToken,
        new_password: $("new-password").value,
      });
      resetToken = null;
      $("new-password").value = "";
      $("mail-link").hidden = true;
      done("Your password is set. Every session was signed out: log in with the new one.");
    } catch (err) {
      showError(err.message);
    } finally {
      $("reset-submit").disabled = false;
    }
  });
}

/** Wire "Forgot your password?" on the login form. */
export function wireForgotPassword({ showError, clearError, setStatus }) {
  $("forgot").addEventListener("click", () => {
    clearError();
    $("login-form").hidden = true;
    $("forgot-form").hidden = false;
    $("forgot-email").value = $("email").value;
    $("forgot-email").focus();
  });
  $("forgot-cancel").addEventListener("click", () => {
    $("forgot-form").hidden = true;
    $("login-form").hidden = false;
  });
  $("forgot-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    $("forgot-submit").disabled = true;
    try {
      const answer = await api.publicCall("POST", "/api/v1/auth/password-reset/request", {
        email: $("forgot-email").value.trim(),
      });
      $("forgot-form").hidden = true;
      $("login-form").hidden = false;
      setStatus(`${answer.status[0].toUpperCase()}${answer.status.slice(1)}.`);
    } catch (err) {
      showError(err.message);
    } finally {
      $("forgot-submit").disabled = false;
    }
  });
}
