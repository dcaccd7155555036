// Account settings: profile, password, two-factor (totp.js), sessions.
// Sensitive changes (e-mail, password, two-factor) send the current password, and the
// second factor when two-factor is on: the API re-authenticates them.

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, el, field, form, timeOf } from "./dom.js";
import { recoverySection, twoFactorSection } from "./totp.js";

const SECOND_FACTOR = { inputmode: "numeric", autocomplete: "one-time-code", maxlength: 32, required: true };

/** The "code from your app" field sensitive forms need while two-factor is on. */
function secondFactor(context, id) {
  return context.me.totp_enabled
    ? field(id, "Code from your authenticator app", { name: "totp", ...SECOND_FACTOR })
    : null;
}

function profileSection(context, verification) {
  const me = context.me;
  const reauth = el("div", { class: "reauth", hidden: true },
    el("p", { class: "hint" }, "Changing the e-mail needs your password."),
    field("profile-password", "Current password", { name: "current_password", type: "password", autocomplete: "current-password" }),
    secondFactor(context, "profile-code"));
  const node = form({ id: "profile-form" }, [
    field("profile-name", "Display name", { name: "display_name", maxlength: 200, value: me.display_name ?? "", autocomplete: "name" }),
    field("profile-email", "E-mail", { name: "email", type: "email", required: true, value: me.email, autocomplete: "email" }),
    reauth,
  ], "Save profile", async (values) => {
    const changes = {};
    if (values.display_name.trim() !== (context.me.display_name ?? "")) changes.display_name = values.display_name.trim();
    if (values.email.trim() !== context.me.email) {
      changes.email = values.email.trim();
      changes.current_password = values.current_password;
      if (values.totp) changes.totp = values.totp.trim();
    }
    if (Object.keys(changes).length === 0) return announce("Nothing to save.");
    context.setMe(await api.call("PATCH", "/api/v1/users/me", changes));
    node.querySelector("#profile-password").value = "";
    reauth.hidden = true;
    announce("Profile saved.");
  });
  const email = node.querySelector("#profile-email");
  email.addEventListener("input", () => {
    const changed = email.value.trim() !== context.me.email;
    reauth.hidden = !changed;
    node.querySelector("#profile-password").required = changed;
  });
  return el("section", { class: "card", "aria-labelledby": "profile-title" },
    el("h3", { id: "profile-title" }, "Profile"), node, verification);
}

function passwordSection(context) {
  return el("section", { class: "card", "aria-labelledby": "password-title" },
    el("h3", { id: "password-title" }, "Password"),
    form({ id: "password-form" }, [
      field("current-password", "Current password", { name: "current_password", type: "password", required: true, autocomplete: "current-password" }),
      secondFactor(context, "password-code"),
      field("new-password", "New password", { name: "new_password", type: "password", required: true, minlength: 8, maxlength: 128, autocomplete: "new-password" },
        "At least 8 characters. A long phrase is best."),
      field("repeat-password", "Repeat the new password", { name: "repeat_password", type: "password", required: true, autocomplete: "new-password" }),
    ], "Change password", async (values, node) => {
      const repeat = node.querySelector("#repeat-password");
      if (values.new_password !== values.repeat_password) {
        repeat.setCustomValidity("The two new passwords differ.");
        repeat.reportValidity();
        repeat.addEventListener("input", () => repeat.setCustomValidity(""), { once: true });
        return;
      }
      const body = { current_password: values.current_password, new_password: values.new_password };
      if (values.totp) body.totp = values.totp.trim();
      await api.call("POST", "/api/v1/auth/password", body);
      node.reset();
      announce("Password changed. Your other sessions were logged out.");
    }));
}

function sessionRow(session, context, refresh) {
  return el("li", { class: "row", "data-session-id": session.id },
    el("span", { class: "row-main" },
      session.current ? el("strong", {}, "This session", el("br")) : null,
      el("small", {}, "Logged in ", timeOf(session.created_at), ", last used ", timeOf(session.last_used_at, "—"))),
    actionButton(session.current ? "Log out" : "Revoke", async () => {
      const what = session.current ? "Log out this session?" : "End this session? That device is logged out at once.";
      if (!(await confirmDialog("End session", what, session.current ? "Log out" : "Revoke"))) return;
      await api.call("DELETE", `/api/v1/auth/sessions/${encodeURIComponent(session.id)}`);
      if (session.current) {
        await api.logout().catch(() => {});
        context.loggedOut();
        return;
      }
      announce("Session ended.");
      await refresh();
    }, { class: "secondary", "aria-label": session.current ? "Log out this session" : `Revoke the session from ${session.created_at}` }));
}

async function sessionsSection(context) {
  const list = el("ul", { class: "rows", id: "sessions" });
  const listed = await api.supports("GET", "/api/v1/auth/sessions");
  async function refresh() {
    const sessions = await api.call("GET", "/api/v1/auth/sessions");
    list.replaceChildren(...sessions.map((session) => sessionRow(session, context, refresh)));
  }
  const section = el("section", { class: "card", "aria-labelledby": "sessions-title" },
    el("h3", { id: "sessions-title" }, "Sessions"),
    listed ? el("p", { class: "hint" }, "Every device and browser logged in to your account.") : null,
    listed ? list : null,
    el("p", { class: "hint" }, "Lost a phone or used a shared computer? End every session, this one too."),
    el("div", { class: "actions" }, actionButton("Log out everywhere", async () => {
      if (!(await confirmDialog("Log out everywhere", "End every session of your account, including this one?", "Log out everywhere"))) return;
      await api.call("POST", "/api/v1/auth/logout-all");
      await api.logout().catch(() => {}); // already ended on the server; forget it here
      context.loggedOut();
      announce("Every session was ended. Log in again to continue.");
    }, { class: "secondary", id: "logout-all" })));
  if (listed) await refresh();
  return section;
}

/** Whether the e-mail address is verified, and a new link when it is not (issue #12). */
async function verificationNote() {
  if (!(await api.supports("GET", "/api/v1/auth/verify-email"))) return null;
  const { verified } = await api.call("GET", "/api/v1/auth/verify-email");
  if (verified) return el("p", { class: "hint", id: "email-verified" }, "Your e-mail address is verified.");
  return el("div", { id: "email-verified" },
    el("p", { class: "hint" }, "Your e-mail address is not verified yet: notifications by e-mail wait until it is."),
    el("div", { class: "actions" }, actionButton("Mail the link again", async () => {
      await api.call("POST", "/api/v1/auth/verify-email/resend");
      announce("A new verification link is on its way.");
    }, { class: "secondary" })));
}

/** Render the account page into `container`. */
export async function show(container, context) {
  context.setMe(await api.call("GET", "/api/v1/users/me"));
  const recovery = context.me.totp_enabled && (await api.supports("POST", "/api/v1/auth/recovery-codes"));
  const sections = [
    el("h2", { id: "account-title", tabindex: "-1" }, "Account"),
    profileSection(context, await verificationNote()),
    passwordSection(context),
    twoFactorSection(context),
    recovery ? recoverySection(context) : null,
    await sessionsSection(context),
  ];
  container.append(...sections.filter(Boolean));
}
