// Account settings: profile, password, two-factor (TOTP) enrolment with a QR code, and
// ending sessions.

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, el, field, form } from "./dom.js";
import { groupedSecret, qrCode } from "./totp.js";

const CODE = { inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true };

function profileSection(context) {
  const me = context.me;
  return el("section", { class: "card", "aria-labelledby": "profile-title" },
    el("h3", { id: "profile-title" }, "Profile"),
    form({ id: "profile-form" }, [
      field("profile-name", "Display name", { name: "display_name", maxlength: 200, value: me.display_name ?? "", autocomplete: "name" }),
      field("profile-email", "E-mail", { name: "email", type: "email", required: true, value: me.email, autocomplete: "email" }),
    ], "Save profile", async ({ display_name, email }) => {
      const changes = {};
      if (display_name.trim() !== (context.me.display_name ?? "")) changes.display_name = display_name.trim();
      if (email.trim() !== context.me.email) changes.email = email.trim();
      if (Object.keys(changes).length === 0) return announce("Nothing to save.");
      context.setMe(await api.call("PATCH", "/api/v1/users/me", changes));
      announce("Profile saved.");
    }));
}

function passwordSection() {
  return el("section", { class: "card", "aria-labelledby": "password-title" },
    el("h3", { id: "password-title" }, "Password"),
    form({ id: "password-form" }, [
      field("current-password", "Current password", { name: "current_password", type: "password", required: true, autocomplete: "current-password" }),
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
      await api.call("POST", "/api/v1/auth/password", {
        current_password: values.current_password, new_password: values.new_password,
      });
      node.reset();
      announce("Password changed. Your other sessions were logged out.");
    }));
}

function twoFactorSection(context) {
  const body = el("div", { id: "totp-settings" });
  const section = el("section", { class: "card", "aria-labelledby": "twofactor-title" },
    el("h3", { id: "twofactor-title" }, "Two-factor authentication"), body);

  function showState() {
    if (context.me.totp_enabled) {
      body.replaceChildren(
        el("p", { id: "totp-state" }, "On: logging in asks for a code from your authenticator app."),
        form({ id: "totp-disable-form" }, [
          field("totp-disable-code", "Current code, to turn it off", { name: "code", ...CODE }),
        ], "Turn off two-factor", async ({ code }) => {
          await api.call("POST", "/api/v1/auth/totp/disable", { code: code.trim() });
          context.setMe({ ...context.me, totp_enabled: false });
          announce("Two-factor authentication is off.");
          showState();
        }));
    } else {
      body.replaceChildren(
        el("p", { id: "totp-state" }, "Off. Turn it on to ask for a code from an authenticator app at every login."),
        el("div", { class: "actions" }, actionButton("Set up two-factor", enrol, { id: "totp-enrol" })));
    }
  }

  async function enrol() {
    const enrolment = await api.call("POST", "/api/v1/auth/totp");
    const qr = await qrCode(enrolment.otpauth_uri, "QR code to scan with your authenticator app");
    body.replaceChildren(
      el("ol", { class: "steps" },
        el("li", {}, "Scan this code with your authenticator app:", qr),
        el("li", {}, "Cannot scan? Type this key into the app instead: ", groupedSecret(enrolment.secret)),
        el("li", {}, "Enter the 6-digit code the app shows.")),
      form({ id: "totp-confirm-form" }, [
        field("totp-confirm-code", "Code from the app", { name: "code", ...CODE }),
      ], "Turn on two-factor", async ({ code }) => {
        await api.call("POST", "/api/v1/auth/totp/confirm", { code: code.trim() });
        context.setMe({ ...context.me, totp_enabled: true });
        announce("Two-factor authentication is on.");
        showState();
        section.querySelector("h3").focus?.();
      }),
      el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: showState }, "Cancel")),
    );
    body.querySelector("#totp-confirm-code").focus();
  }

  showState();
  return section;
}

function sessionsSection(context) {
  return el("section", { class: "card", "aria-labelledby": "sessions-title" },
    el("h3", { id: "sessions-title" }, "Sessions"),
    el("p", { class: "hint" }, "Lost a phone or used a shared computer? End every session, this one too."),
    el("div", { class: "actions" }, actionButton("Log out everywhere", async () => {
      if (!(await confirmDialog("Log out everywhere", "End every session of your account, including this one?", "Log out everywhere"))) return;
      await api.call("POST", "/api/v1/auth/logout-all");
      await api.logout().catch(() => {}); // already ended on the server; forget it here
      context.loggedOut();
      announce("Every session was ended. Log in again to continue.");
    }, { class: "secondary", id: "logout-all" })));
}

/** Render the account page into `container`. */
export async function show(container, context) {
  context.setMe(await api.call("GET", "/api/v1/users/me"));
  container.append(
    el("h2", { id: "account-title", tabindex: "-1" }, "Account"),
    profileSection(context),
    passwordSection(),
    twoFactorSection(context),
    sessionsSection(context),
  );
}
