// The administrator's user list: role, disable or enable, delete. One card per account (a
// wide table would scroll sideways on a phone).

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, copyText, el, field, form, openDialog, timeOf } from "./dom.js";

const ROLES = ["admin", "user", "guest"];

/** The admin's own password (and code) for an action that re-authenticates (issue #14). */
function reauthFields(me, prefix) {
  return [
    field(`${prefix}-password`, "Your password", { name: "current_password", type: "password", required: true, autocomplete: "current-password" }),
    me.totp_enabled ? field(`${prefix}-code`, "Your two-factor code", { name: "totp", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 32 }) : null,
  ];
}

function reauthBody(values) {
  const body = { current_password: values.current_password };
  if (values.totp) body.totp = values.totp.trim();
  return body;
}

/** Buttons for the actions that reset someone's sign-in (offered when the server has them). */
function resetButtons(user, me, refresh, offered) {
  const base = `/api/v1/users/${encodeURIComponent(user.id)}`;
  const buttons = [];
  if (offered.twoFactor && user.totp_enabled) {
    buttons.push(el("button", { type: "button", class: "secondary", "aria-label": `Reset the two-factor setup of ${user.email}`, onclick: () =>
      openDialog(`Reset two-factor of ${user.email}`, (close) => form({ id: "reset-two-factor-form" }, [
        el("p", {}, "They log in with their password only until they set two-factor up again."),
        ...reauthFields(me, "reset-two-factor"),
      ], "Reset two-factor", async (values) => {
        await api.call("POST", `${base}/reset-two-factor`, reauthBody(values));
        close();
        announce(`Two-factor of ${user.email} is off.`);
        await refresh();
      })) }, "Reset two-factor…"));
  }
  if (offered.password) {
    buttons.push(el("button", { type: "button", class: "secondary", "aria-label": `Set a new password for ${user.email}`, onclick: () =>
      openDialog(`New password for ${user.email}`, (close) => form({ id: "reset-password-form" }, [
        field("user-new-password", "Their new password", { name: "new_password", type: "password", required: true, minlength: 8, maxlength: 128, autocomplete: "new-password" },
          "Every session of theirs ends. Tell them the password another way, and ask them to change it."),
        ...reauthFields(me, "reset-password"),
      ], "Set password", async (values) => {
        await api.call("POST", `${base}/reset-password`, { ...reauthBody(values), new_password: values.new_password });
        close();
        announce(`${user.email} has a new password.`);
      })) }, "Set password…"));
  }
  return buttons;
}

function userCard(user, me, refresh, offered) {
  const self = user.id === me.id;
  const roleId = `role-${user.id}`;
  const role = el("select", { id: roleId, disabled: self }, ...ROLES.map((one) => el("option", { value: one, selected: one === user.role }, one)));
  const setRole = actionButton("Set role", async () => {
    await api.call("PATCH", `/api/v1/users/${encodeURIComponent(user.id)}`, { role: role.value });
    announce(`${user.email} is now ${role.value}.`);
    await refresh();
  }, { class: "secondary", disabled: self, "aria-label": `Set the role of ${user.email}` });
  const toggle = actionButton(user.disabled ? "Enable" : "Disable", async () => {
    await api.call("PATCH", `/api/v1/users/${encodeURIComponent(user.id)}`, { disabled: !user.disabled });
    announce(`${user.email} is ${user.disabled ? "enabled" : "disabled"}.`);
    await refresh();
  }, { class: "secondary", disabled: self, "aria-label": `${user.disabled ? "Enable" : "Disable"} ${user.email}` });
  const remove = actionButton("Delete", async () => {
    if (!(await confirmDialog("Delete account", `Delete ${user.email} and everything it owns? This cannot be undone.`, "Delete account"))) return;
    await api.call("DELETE", `/api/v1/users/${encodeURIComponent(user.id)}`);
    announce(`${user.email} was deleted.`);
    await refresh();
  }, { class: "danger", disabled: self, "aria-label": `Delete ${user.email}` });
  return el("li", { class: "user", "data-user-id": user.id },
    el("h3", {}, user.email, self ? " (you)" : ""),
    el("dl", { class: "fields" },
      el("dt", {}, "Name"), el("dd", {}, user.display_name || "—"),
      el("dt", {}, "Two-factor"), el("dd", {}, user.totp_enabled ? "on" : "off"),
      el("dt", {}, "Status"), el("dd", { "data-field": "status" }, user.disabled ? "disabled" : "active"),
      el("dt", {}, "Created"), el("dd", {}, timeOf(user.created_at))),
    el("div", { class: "actions" },
      el("label", { for: roleId, class: "inline" }, "Role"), role, setRole, toggle, remove,
      ...(self ? [] : resetButtons(user, me, refresh, offered))));
}

/** Registration invitations (when the server has them): list, withdraw, make one. */
function invitationsSection() {
  const list = el("ul", { class: "rows", "data-list": "invitations" });
  const created = el("div", { id: "invitation-created" });
  async function refresh() {
    const invitations = await api.call("GET", "/api/v1/invitations");
    list.replaceChildren(...(invitations.length === 0
      ? [el("li", { class: "empty" }, "No open invitations.")]
      : invitations.map((invitation) => el("li", { class: "row", "data-invitation-id": invitation.id },
          el("span", { class: "row-main" }, invitation.email ?? "anyone with the link", el("br"),
            el("small", {}, "valid until ", timeOf(invitation.expires_at))),
          actionButton("Withdraw", async () => {
            await api.call("DELETE", `/api/v1/invitations/${encodeURIComponent(invitation.id)}`);
            await refresh();
          }, { class: "secondary", "aria-label": `Withdraw the invitation for ${invitation.email ?? "anyone"}` })))));
  }
  const node = form({ id: "invitation-form" }, [
    field("invitation-email", "For (e-mail, optional)", { name: "email", type: "email", autocomplete: "off" }),
    field("invitation-days", "Valid for (days)", { name: "ttl_days", type: "number", min: 1, max: 30, value: "7", required: true }),
  ], "Make an invitation", async ({ email, ttl_days }) => {
    const body = { ttl_days: Number(ttl_days) };
    if (email.trim()) body.email = email.trim();
    const issued = await api.call("POST", "/api/v1/invitations", body);
    const link = `${location.origin}/app/#invitation=${issued.token}`;
    const block = el("pre", { class: "copyable", id: "invitation-link", tabindex: "0" }, link);
    created.replaceChildren(el("p", { class: "notice" }, "Send this link: it works once, and is shown only now."), block,
      el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: () => copyText(link, block) }, "Copy link")));
    node.reset();
    await refresh();
    block.focus();
  });
  const section = el("section", { class: "card", "aria-labelledby": "invitations-title" },
    el("h3", { id: "invitations-title" }, "Invitations"),
    el("p", { class: "hint" }, "Where registration needs an invitation, an invitation link lets one person create an account."),
    list, node, created);
  return { section, refresh };
}

/** Render the user list into `container`. */
export async function show(container, context) {
  const list = el("ul", { class: "users", id: "users" });
  const count = el("p", { class: "hint", id: "users-count" });
  const [twoFactor, password, invitations] = await Promise.all([
    api.supports("POST", "/api/v1/users/{user_id}/reset-two-factor"),
    api.supports("POST", "/api/v1/users/{user_id}/reset-password"),
    api.supports("GET", "/api/v1/invitations"),
  ]); // with the hardening work (issue #14)
  const offered = { twoFactor, password };
  async function refresh() {
    const users = await api.call("GET", "/api/v1/users");
    count.textContent = `${users.length} ${users.length === 1 ? "account" : "accounts"}`;
    list.replaceChildren(...users.map((user) => userCard(user, context.me, refresh, offered)));
  }
  const invites = invitations ? invitationsSection() : null;
  container.append(el("h2", { id: "admin-title", tabindex: "-1" }, "Users"), count, list,
    ...(invites ? [invites.section] : []));
  await Promise.all([refresh(), invites?.refresh()]);
}
