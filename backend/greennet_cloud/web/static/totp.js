// Two-factor settings: enrol with a QR code of the otpauth:// URI (qrcode-generator,
// vendored, MIT, drawn as SVG through the DOM: the library's own SVG and HTML strings would
// need an HTML sink), the key as text for typing in by hand, recovery codes, turning it off.
// Every change re-authenticates with the current password (and a code once it is on).

import * as api from "./api.js";
import { announce, copyText, el, field, form, svg } from "./dom.js";

const QUIET_ZONE = 4; // modules of white border the QR specification asks for
const CODE = { inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true };
const PASSWORD = { type: "password", required: true, autocomplete: "current-password" };

/** An SVG QR code of `text` (error correction M). */
export async function qrCode(text, label) {
  const { default: qrcode } = await import("./vendor/qrcode-generator.mjs");
  const code = qrcode(0, "M"); // 0: the smallest version that holds the text
  code.addData(text, "Byte");
  code.make();
  const count = code.getModuleCount();
  const size = count + 2 * QUIET_ZONE;
  const parts = [];
  for (let row = 0; row < count; row += 1) {
    for (let column = 0; column < count; column += 1) {
      if (code.isDark(row, column)) parts.push(`M${column + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  return svg("svg", {
    class: "qr",
    viewBox: `0 0 ${size} ${size}`,
    role: "img",
    "aria-label": label,
    "shape-rendering": "crispEdges",
    "data-modules": String(count),
  },
  svg("rect", { width: String(size), height: String(size), fill: "#ffffff" }),
  svg("path", { d: parts.join(""), fill: "#000000" }));
}

/** The secret in groups of four, easier to type into an authenticator by hand. */
export function groupedSecret(secret) {
  return el("code", { class: "secret", id: "totp-secret" }, secret.replace(/(.{4})(?=.)/g, "$1 "));
}

/** Recovery codes, shown once, with a copy button. */
function recoveryCodes(codes) {
  const text = codes.join("\n");
  const block = el("pre", { class: "copyable", id: "recovery-codes", tabindex: "0" }, text);
  return el("div", { class: "created" },
    el("p", { class: "notice" }, "Recovery codes: each logs you in once without the app. Keep them somewhere safe; they are shown only now."),
    block,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: () => copyText(text, block) }, "Copy codes")));
}

/** The "Two-factor authentication" section of the account page. */
export function twoFactorSection(context) {
  const body = el("div", { id: "totp-settings" });
  const section = el("section", { class: "card", "aria-labelledby": "twofactor-title" },
    el("h3", { id: "twofactor-title", tabindex: "-1" }, "Two-factor authentication"), body);

  function showState(extra = null) {
    if (context.me.totp_enabled) {
      body.replaceChildren(
        el("p", { id: "totp-state" }, "On: logging in asks for a code from your authenticator app."),
        extra,
        form({ id: "totp-disable-form" }, [
          field("totp-disable-password", "Current password", { name: "current_password", ...PASSWORD }),
          field("totp-disable-code", "Code from the app, or a recovery code", { name: "code", ...CODE, pattern: "[0-9]{6}|[A-Za-z0-9\\-]{8,32}", maxlength: 32 }),
        ], "Turn off two-factor", async ({ current_password, code }) => {
          await api.call("POST", "/api/v1/auth/totp/disable", { code: code.trim(), current_password });
          context.setMe({ ...context.me, totp_enabled: false });
          announce("Two-factor authentication is off.");
          showState();
        }));
    } else {
      body.replaceChildren(
        el("p", { id: "totp-state" }, "Off. Turn it on to ask for a code from an authenticator app at every login."),
        form({ id: "totp-enrol-form" }, [
          field("totp-enrol-password", "Current password", { name: "current_password", ...PASSWORD }),
        ], "Set up two-factor", ({ current_password }) => enrol(current_password)));
    }
  }

  async function enrol(password) {
    const enrolment = await api.call("POST", "/api/v1/auth/totp", { current_password: password });
    const qr = await qrCode(enrolment.otpauth_uri, "QR code to scan with your authenticator app");
    body.replaceChildren(
      el("ol", { class: "steps" },
        el("li", {}, "Scan this code with your authenticator app:", qr),
        el("li", {}, "Cannot scan? Type this key into the app instead: ", groupedSecret(enrolment.secret)),
        el("li", {}, "Enter the 6-digit code the app shows.")),
      form({ id: "totp-confirm-form" }, [
        field("totp-confirm-code", "Code from the app", { name: "code", ...CODE }),
      ], "Turn on two-factor", async ({ code }) => {
        const answer = await api.call("POST", "/api/v1/auth/totp/confirm", { code: code.trim(), current_password: password });
        password = null; // kept only between the two steps
        context.setMe({ ...context.me, totp_enabled: true });
        announce("Two-factor authentication is on.");
        showState(answer?.recovery_codes ? recoveryCodes(answer.recovery_codes) : null);
        section.querySelector("h3").focus();
      }),
      el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: () => showState() }, "Cancel")),
    );
    body.querySelector("#totp-confirm-code").focus();
  }

  showState();
  return section;
}

/** New recovery codes (offered when the server has the route and two-factor is on). */
export function recoverySection(context) {
  const result = el("div");
  return el("section", { class: "card", "aria-labelledby": "recovery-title" },
    el("h3", { id: "recovery-title" }, "Recovery codes"),
    el("p", { class: "hint" }, "Lost your codes or used most of them? New codes replace the old ones."),
    form({ id: "recovery-form" }, [
      field("recovery-password", "Current password", { name: "current_password", ...PASSWORD }),
      field("recovery-code", "Code from the app", { name: "totp", ...CODE }),
    ], "Make new recovery codes", async ({ current_password, totp }, node) => {
      if (!context.me.totp_enabled) return announce("Turn on two-factor first.");
      const answer = await api.call("POST", "/api/v1/auth/recovery-codes", { current_password, totp: totp.trim() });
      node.reset();
      result.replaceChildren(recoveryCodes(answer.recovery_codes));
    }),
    result);
}
