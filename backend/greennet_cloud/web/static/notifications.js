// In-app notifications: the unread count in the navigation, the list, mark read.
// GET /api/v1/notifications, …/unread-count, POST …/{id}/read and …/read-all.

import * as api from "./api.js";
import { $, actionButton, announce, el, timeOf } from "./dom.js";

/** Show `count` unread notifications next to the navigation link. */
export function showUnread(count) {
  const badge = $("unread");
  badge.textContent = count > 0 ? String(count) : "";
  badge.hidden = !(count > 0);
  $("nav-notifications").setAttribute("aria-label", count > 0 ? `Notifications, ${count} unread` : "Notifications");
}

/** Ask the server for the unread count and show it. */
export async function refreshUnread() {
  const { unread } = await api.call("GET", "/api/v1/notifications/unread-count");
  showUnread(unread);
  return unread;
}

function item(notification, refresh) {
  const unread = !notification.read_at;
  return el("li", { class: `notification${unread ? " unread" : ""}`, "data-notification-id": notification.id },
    el("h3", {}, unread ? el("span", { class: "badge new" }, "New ") : null, notification.title),
    notification.body ? el("p", {}, notification.body) : null,
    el("p", { class: "hint" }, timeOf(notification.created_at)),
    unread ? el("div", { class: "actions" }, actionButton("Mark read", async () => {
      await api.call("POST", `/api/v1/notifications/${encodeURIComponent(notification.id)}/read`);
      await refresh();
    }, { class: "secondary", "aria-label": `Mark read: ${notification.title}` })) : null);
}

/** Render the notifications view into `container`. */
export async function show(container) {
  const list = el("ul", { class: "notifications", id: "notifications" });
  async function refresh() {
    const [notifications] = await Promise.all([api.call("GET", "/api/v1/notifications"), refreshUnread()]);
    list.replaceChildren(...(notifications.length === 0
      ? [el("li", { class: "empty" }, "No notifications.")]
      : notifications.map((notification) => item(notification, refresh))));
  }
  container.append(
    el("div", { class: "view-head" },
      el("h2", { id: "notifications-title", tabindex: "-1" }, "Notifications"),
      actionButton("Mark all read", async () => {
        const { marked } = await api.call("POST", "/api/v1/notifications/read-all");
        announce(`${marked} marked read.`);
        await refresh();
      }, { class: "secondary", id: "read-all" })),
    list,
  );
  await refresh();
}
