// Alerts of every plug the caller may read: filter by state, acknowledge, resolve.
// GET /api/v1/alerts?state=…, POST /api/v1/alerts/{id}/acknowledge and …/resolve.

import * as api from "./api.js";
import { actionButton, announce, choices, el, plugName, timeOf } from "./dom.js";
import { canControl } from "./homes.js";
import { href } from "./router.js";
import { liveEvents } from "./socket.js";
import { METRICS } from "./thresholds.js";

const STATES = [
  { key: "active", label: "Active" },
  { key: "acknowledged", label: "Acknowledged" },
  { key: "resolved", label: "Resolved" },
  { key: "all", label: "All" },
];
const UNIT = Object.fromEntries(METRICS.map(([key, , unit]) => [key, unit]));
const METRIC_TEXT = Object.fromEntries(METRICS.map(([key, text]) => [key, text]));

/** What an alert says, e.g. "Power above 1500 W (was 1834 W)". */
export function describeAlert(alert) {
  if (alert.metric === "offline") return "Offline: no data";
  const unit = UNIT[alert.metric] ?? "";
  const value = alert.value === null || alert.value === undefined ? "" : ` (was ${alert.value} ${unit})`;
  return `${METRIC_TEXT[alert.metric] ?? alert.metric} ${alert.direction} ${alert.limit} ${unit}${value}`;
}

function alertItem(alert, device, refresh) {
  const control = device ? canControl(device) : false;
  const actions = [];
  if (control && alert.state === "active") {
    actions.push(actionButton("Acknowledge", async () => {
      await api.call("POST", `/api/v1/alerts/${encodeURIComponent(alert.id)}/acknowledge`);
      announce("Alert acknowledged.");
      await refresh();
    }, { "aria-label": `Acknowledge: ${describeAlert(alert)}` }));
  }
  if (control && alert.state !== "resolved") {
    actions.push(actionButton("Resolve", async () => {
      await api.call("POST", `/api/v1/alerts/${encodeURIComponent(alert.id)}/resolve`);
      announce("Alert resolved.");
      await refresh();
    }, { class: "secondary", "aria-label": `Resolve: ${describeAlert(alert)}` }));
  }
  return el("li", { class: `alert state-${alert.state}`, "data-alert-id": alert.id },
    el("h3", {}, device ? el("a", { href: href("plug", device.id) }, plugName(device)) : "A plug", ": ", describeAlert(alert)),
    el("p", { class: "badge", "data-field": "state" }, alert.state),
    el("dl", { class: "fields" },
      el("dt", {}, "Raised"), el("dd", {}, timeOf(alert.raised_at)),
      alert.acknowledged_at ? [el("dt", {}, "Acknowledged"), el("dd", {}, timeOf(alert.acknowledged_at))] : null,
      alert.resolved_at ? [el("dt", {}, "Resolved"), el("dd", {}, timeOf(alert.resolved_at))] : null),
    actions.length ? el("div", { class: "actions" }, ...actions) : null);
}

/** Render the alerts view into `container`. */
export async function show(container, context) {
  const list = el("ul", { class: "alerts", id: "alerts" });
  const count = el("p", { class: "hint", id: "alerts-count", role: "status" });
  let state = STATES[0].key;
  async function refresh() {
    const query = state === "all" ? "" : `?${new URLSearchParams({ state })}`;
    const alerts = await api.call("GET", `/api/v1/alerts${query}`);
    const devices = new Map(context.devices.map((device) => [device.id, device]));
    count.textContent = `${alerts.length} ${alerts.length === 1 ? "alert" : "alerts"}`;
    list.replaceChildren(...(alerts.length === 0
      ? [el("li", { class: "empty" }, state === "active" ? "No active alerts." : "No alerts here.")]
      : alerts.map((alert) => alertItem(alert, devices.get(alert.device_id), refresh))));
  }
  const onAlert = () => refresh().catch(context.failed); // pushed over the websocket
  liveEvents.addEventListener("alert", onAlert);
  leaving = () => liveEvents.removeEventListener("alert", onAlert);
  container.append(
    el("h2", { id: "alerts-title", tabindex: "-1" }, "Alerts"),
    choices("alert-state", "Show", STATES, (key) => {
      state = key;
      refresh().catch(context.failed);
    }),
    count,
    list,
  );
  await refresh();
}

let leaving = null;

export function leave() {
  leaving?.();
  leaving = null;
}
