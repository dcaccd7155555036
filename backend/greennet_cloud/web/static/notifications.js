// In-app notifications: the unread count in the navigation, the list, mark read; and where
// notifications go: channels per type, and the signed webhook.
// GET /api/v1/notifications, …/unread-count, POST …/{id}/read and …/read-all,
// GET/PATCH …/preferences, GET/PUT/DELETE …/webhook, POST …/webhook/secret and …/test.

import * as api from "./api.js";
import { liveEvents } from "./socket.js";
import { $, actionButton, announce, confirmDialog, copyText, el, field, form, messageOf, showError, timeOf } from "./dom.js";

const TYPE_TEXT = {
  alert_raised: "An alert is raised",
  alert_resolved: "An alert is resolved",
  share_received: "Something is shared with you",
  security_new_login: "A login from a new network",
  security_password_changed: "Your password changed",
  security_totp_changed: "Your two-factor setting changed",
};
const CHANNEL_TEXT = { in_app: "In the app", email: "E-mail", webhook: "Webhook", home_assistant: "Home Assistant" };
const WEBHOOK_FORMATS = [
  ["json", "JSON event (n8n, your own receiver)"],
  ["slack", "Slack-style text (Slack, Mattermost, Rocket.Chat)"],
  ["ntfy", "ntfy topic"],
];

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

function preferencesSection() {
  const body = el("div", { id: "notification-preferences" });
  async function refresh() {
    const preferences = await api.call("GET", "/api/v1/notifications/preferences");
    const channels = Object.keys(preferences.available).filter((channel) => preferences.available[channel]);
    body.replaceChildren(...Object.entries(preferences.types).map(([type, on]) => {
      const group = el("fieldset", { class: "choices", "data-type": type }, el("legend", {}, TYPE_TEXT[type] ?? type));
      for (const channel of channels) {
        const id = `pref-${type}-${channel}`;
        const box = el("input", { type: "checkbox", id, checked: Boolean(on[channel]) });
        box.addEventListener("change", async () => {
          box.disabled = true;
          try {
            await api.call("PATCH", "/api/v1/notifications/preferences", { types: { [type]: { [channel]: box.checked } } });
            announce(`${TYPE_TEXT[type] ?? type}: ${CHANNEL_TEXT[channel] ?? channel} ${box.checked ? "on" : "off"}.`);
          } catch (err) {
            box.checked = !box.checked;
            showError(messageOf(err));
          } finally {
            box.disabled = false;
          }
        });
        group.append(el("span", { class: "choice" }, box, el("label", { for: id }, CHANNEL_TEXT[channel] ?? channel)));
      }
      return group;
    }));
  }
  const section = el("section", { class: "card", "aria-labelledby": "preferences-title" },
    el("h3", { id: "preferences-title" }, "Where notifications go"), body);
  return { section, refresh };
}

function secretBlock(secret) {
  const block = el("pre", { class: "copyable", id: "webhook-secret", tabindex: "0" }, secret);
  return el("div", { class: "created" },
    el("p", { class: "notice" }, "Signing secret, shown only now: your receiver checks each body's signature with it."),
    block,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: () => copyText(secret, block) }, "Copy secret")));
}

function webhookSection() {
  const body = el("div", { id: "webhook" });
  const created = el("div");
  async function refresh() {
    let webhook = null;
    try {
      webhook = await api.call("GET", "/api/v1/notifications/webhook");
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    const editor = form({ id: "webhook-form" }, [
      field("webhook-url", "URL", { name: "url", type: "url", required: true, value: webhook?.url ?? "", autocomplete: "off", placeholder: "https://" }),
      field("webhook-format", "Body", { name: "format", type: "select", options: WEBHOOK_FORMATS }),
    ], webhook ? "Save webhook" : "Add webhook", async ({ url, format }) => {
      const saved = await api.call("PUT", "/api/v1/notifications/webhook", { url: url.trim(), format });
      created.replaceChildren(saved.secret ? secretBlock(saved.secret) : "");
      announce("Webhook saved.");
      await refresh();
    });
    if (webhook) editor.querySelector("#webhook-format").value = webhook.format;
    body.replaceChildren(editor, webhook ? el("div", { class: "actions" },
      actionButton("Send a test", async () => {
        const outcome = await api.call("POST", "/api/v1/notifications/webhook/test");
        announce(outcome.delivered ? "Test delivered." : `Test not delivered: ${outcome.error}`);
      }, { class: "secondary" }),
      actionButton("New secret", async () => {
        if (!(await confirmDialog("New signing secret", "The old secret stops working at once.", "New secret"))) return;
        const saved = await api.call("POST", "/api/v1/notifications/webhook/secret");
        created.replaceChildren(secretBlock(saved.secret));
      }, { class: "secondary" }),
      actionButton("Remove", async () => {
        if (!(await confirmDialog("Remove webhook", "Stop sending notifications to this URL?", "Remove"))) return;
        await api.call("DELETE", "/api/v1/notifications/webhook");
        created.replaceChildren();
        announce("Webhook removed.");
        await refresh();
      }, { class: "secondary" })) : null);
  }
  const section = el("section", { class: "card", "aria-labelledby": "webhook-title" },
    el("h3", { id: "webhook-title" }, "Webhook"),
    el("p", { class: "hint" }, "Notifications as signed HTTPS requests to ntfy, a Slack bridge, n8n or your own service."),
    body, created);
  return { section, refresh };
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
  const onNotification = () => refresh().catch(() => {}); // pushed over the websocket
  liveEvents.addEventListener("notification", onNotification);
  leaving = () => liveEvents.removeEventListener("notification", onNotification);
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
  const settings = [];
  if (await api.supports("GET", "/api/v1/notifications/preferences")) settings.push(preferencesSection());
  if (await api.supports("PUT", "/api/v1/notifications/webhook")) settings.push(webhookSection());
  container.append(...settings.map((one) => one.section));
  await Promise.all([refresh(), ...settings.map((one) => one.refresh())]);
}

let leaving = null;

export function leave() {
  leaving?.();
  leaving = null;
}
