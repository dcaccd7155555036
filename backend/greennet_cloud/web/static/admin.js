// The administrator's user list: role, disable or enable, delete. One card per account (a
// wide table would scroll sideways on a phone).

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, el, timeOf } from "./dom.js";

const ROLES = ["admin", "user", "guest"];

function userCard(user, me, refresh) {
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
      el("label", { for: roleId, class: "inline" }, "Role"), role, setRole, toggle, remove));
}

/** Render the user list into `container`. */
export async function show(container, context) {
  const list = el("ul", { class: "users", id: "users" });
  const count = el("p", { class: "hint", id: "users-count" });
  async function refresh() {
    const users = await api.call("GET", "/api/v1/users");
    count.textContent = `${users.length} ${users.length === 1 ? "account" : "accounts"}`;
    list.replaceChildren(...users.map((user) => userCard(user, context.me, refresh)));
  }
  container.append(el("h2", { id: "admin-title", tabindex: "-1" }, "Users"), count, list);
  await refresh();
}
