// What a visitor does before logging in: create an account, ask for a password reset, and
// open the links GreenNet Cloud mails or admins hand out (#reset-password=<token>,
// #verify-email=<token>, #invitation=<token>).
// Tokens from a link leave the address bar at once (history.replaceState), so they stay
// out of the history and of anything copied from the address bar.

import * as api from "./api.js";
import { announce, el, field, form } from "./dom.js";

const NEW_PASSWORD = { type: "password", required: true, minlength: 8, maxlength: 128, autocomplete: "new-password" };

/** A mailed link in the address (`{kind, token}`), removed from the address; or null. */
export function takeMailedLink() {
  const match = /^#(reset-password|verify-email|invitation)=([A-Za-z0-9_-]{8,200})$/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", `${location.pathname}#/`);
  return { kind: match[1], token: match[2] };
}

function checkRepeat(node, values) {
  const repeat = node.querySelector("[name=repeat_password]");
  if (values.new_password === values.repeat_password) return true;
  repeat.setCustomValidity("The two passwords differ.");
  repeat.reportValidity();
  repeat.addEventListener("input", () => repeat.setCustomValidity(""), { once: true });
  return false;
}

/**
 * The sign-up form: registers, then logs in through `logIn(email, password)`. Where the
 * server has invitations, an invitation code field (filled from an #invitation= link).
 */
export async function signUpForm(logIn, invitation = "") {
  const invited = invitation !== "" || (await api.supports("GET", "/api/v1/invitations"));
  return form({ id: "signup-form" }, [
    el("h3", {}, "Create an account"),
    field("signup-email", "Email", { name: "email", type: "email", required: true, autocomplete: "username" }),
    field("signup-password", "Password", { name: "new_password", ...NEW_PASSWORD }, "At least 8 characters. A long phrase is best."),
    field("signup-repeat", "Repeat the password", { name: "repeat_password", type: "password", required: true, autocomplete: "new-password" }),
    invited ? field("signup-invitation", "Invitation code (if you were given one)", { name: "invitation", value: invitation, autocomplete: "off" }) : null,
  ], "Create account", async (values, node) => {
    if (!checkRepeat(node, values)) return;
    const email = values.email.trim();
    const body = { email, password: values.new_password };
    if (values.invitation?.trim()) body.invitation = values.invitation.trim();
    await api.anonymous("POST", "/api/v1/auth/register", body);
    announce("Account created.");
    await logIn(email, values.new_password);
  });
}

/** "Forgot your password?": mails a reset link (the same answer whether or not the address has an account). */
export function forgotForm() {
  return form({ id: "forgot-form" }, [
    el("h3", {}, "Reset your password"),
    el("p", { class: "hint" }, "We mail a link to choose a new password, if the address has an account."),
    field("forgot-email", "Email", { name: "email", type: "email", required: true, autocomplete: "username" }),
  ], "Mail me a link", async ({ email }, node) => {
    await api.anonymous("POST", "/api/v1/auth/password-reset/request", { email: email.trim() });
    node.reset();
    announce("If that address has an account, a reset link is on its way. It works once, for 30 minutes.");
  });
}

/** The form a reset link opens: a new password for the mailed token. */
export function resetForm(token, done) {
  return form({ id: "reset-form" }, [
    el("h3", {}, "Choose a new password"),
    field("reset-password", "New password", { name: "new_password", ...NEW_PASSWORD }),
    field("reset-repeat", "Repeat the new password", { name: "repeat_password", type: "password", required: true, autocomplete: "new-password" }),
  ], "Set password", async (values, node) => {
    if (!checkRepeat(node, values)) return;
    await api.anonymous("POST", "/api/v1/auth/password-reset", { token, new_password: values.new_password });
    done(); // back to the login form, then say why
    announce("Your password was changed and every session ended. Log in with the new password.");
  });
}

/** Confirm an address with a mailed token; resolves to the message to show. */
export async function verifyEmail(token) {
  await api.anonymous("POST", "/api/v1/auth/verify-email", { token });
  return "Your e-mail address is verified.";
}
