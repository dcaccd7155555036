// A plug's thresholds: the list (enable, disable, delete) and the editor that adds one.
// Shapes: GET/POST /api/v1/devices/{id}/thresholds, PATCH/DELETE …/thresholds/{id}.

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, el, field, form } from "./dom.js";

export const METRICS = [
  ["power", "Power", "W"],
  ["current", "Current", "A"],
  ["voltage", "Voltage", "V"],
  ["energy_today", "Energy today", "kWh"],
  ["offline", "Offline (no data)", ""],
];
const UNIT = Object.fromEntries(METRICS.map(([key, , unit]) => [key, unit]));
const METRIC_TEXT = Object.fromEntries(METRICS.map(([key, text]) => [key, text]));
const REPEAT = [
  ["once", "Once per episode"],
  ["hourly", "At most hourly"],
  ["daily", "At most daily"],
];
const REPEAT_TEXT = Object.fromEntries(REPEAT);

function minutes(seconds) {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** One line saying what a threshold watches, e.g. "Power above 1500 W for 5 min". */
export function describeThreshold(threshold) {
  const parts = threshold.metric === "offline"
    ? [`Offline for ${minutes(threshold.duration_seconds)}`]
    : [`${METRIC_TEXT[threshold.metric] ?? threshold.metric} ${threshold.direction} ${threshold.value} ${UNIT[threshold.metric] ?? ""}`.trim()];
  if (threshold.metric !== "offline" && threshold.duration_seconds > 0) parts.push(`for ${minutes(threshold.duration_seconds)}`);
  if (threshold.hysteresis) parts.push(`(hysteresis ${threshold.hysteresis} ${UNIT[threshold.metric] ?? ""})`.replace(" )", ")"));
  parts.push(`· ${REPEAT_TEXT[threshold.repeat] ?? threshold.repeat}`);
  if (threshold.quiet_hours) parts.push(`· quiet ${threshold.quiet_hours.start}–${threshold.quiet_hours.end}`);
  return parts.join(" ");
}

/** The threshold's body from the editor's fields. */
function thresholdBody(values) {
  const body = { metric: values.metric, repeat: values.repeat, duration_seconds: Math.round(Number(values.duration_minutes || 0) * 60) };
  if (values.name.trim()) body.name = values.name.trim();
  if (values.metric !== "offline") {
    body.direction = values.direction;
    body.value = Number(values.value);
    if (values.hysteresis !== "") body.hysteresis = Number(values.hysteresis);
  }
  if (values.quiet_start && values.quiet_end) body.quiet_hours = { start: values.quiet_start, end: values.quiet_end };
  return body;
}

function editor(deviceId, onAdded) {
  const valueFields = el("div", { class: "value-fields" },
    field("threshold-direction", "Direction", { name: "direction", type: "select", options: [["above", "Above"], ["below", "Below"]] }),
    field("threshold-value", "Value", { name: "value", type: "number", min: 0, max: 100000, step: "any", required: true }),
    field("threshold-hysteresis", "Hysteresis (optional)", { name: "hysteresis", type: "number", min: 0, max: 100000, step: "any" },
      "How far back in range a reading must be before the alert resolves."));
  const node = form({ id: "threshold-form" }, [
    field("threshold-name", "Name (optional)", { name: "name", maxlength: 200, autocomplete: "off" }),
    field("threshold-metric", "Watch", { name: "metric", type: "select", options: METRICS.map(([key, text, unit]) => [key, unit ? `${text} (${unit})` : text]) }),
    valueFields,
    field("threshold-duration", "For at least (minutes)", { name: "duration_minutes", type: "number", min: 0, step: "any", value: "0" },
      "Offline: how long without data (at least 1 minute)."),
    field("threshold-repeat", "Notify", { name: "repeat", type: "select", options: REPEAT }),
    el("fieldset", { class: "quiet" }, el("legend", {}, "Quiet hours (optional, home's time zone)"),
      field("threshold-quiet-start", "From", { name: "quiet_start", type: "time" }),
      field("threshold-quiet-end", "Until", { name: "quiet_end", type: "time" })),
  ], "Add threshold", async (values) => {
    await api.call("POST", `/api/v1/devices/${encodeURIComponent(deviceId)}/thresholds`, thresholdBody(values));
    node.reset();
    showValueFields();
    announce("Threshold added.");
    await onAdded();
  });
  const metric = node.querySelector("#threshold-metric");
  function showValueFields() {
    const offline = metric.value === "offline";
    valueFields.hidden = offline;
    node.querySelector("#threshold-value").required = !offline;
    node.querySelector("#threshold-duration").min = offline ? "1" : "0";
  }
  metric.addEventListener("change", showValueFields);
  return node;
}

/** The "Thresholds" section of a plug page; `canEdit` for owners and control shares. */
export function thresholdsSection(device, canEdit) {
  const base = `/api/v1/devices/${encodeURIComponent(device.id)}/thresholds`;
  const list = el("ul", { class: "rows", "data-list": "thresholds" });
  async function refresh() {
    const thresholds = await api.call("GET", base);
    list.replaceChildren(...(thresholds.length === 0
      ? [el("li", { class: "empty" }, "No thresholds yet.")]
      : thresholds.map((threshold) => el("li", { class: "row", "data-threshold-id": threshold.id },
          el("span", { class: "row-main" },
            threshold.name ? el("strong", {}, threshold.name, el("br")) : null,
            describeThreshold(threshold),
            threshold.enabled ? null : el("span", { class: "badge" }, " (off)")),
          canEdit ? el("span", { class: "actions" },
            actionButton(threshold.enabled ? "Turn off" : "Turn on", async () => {
              await api.call("PATCH", `${base}/${encodeURIComponent(threshold.id)}`, { enabled: !threshold.enabled });
              await refresh();
            }, { class: "secondary", "aria-label": `${threshold.enabled ? "Turn off" : "Turn on"} ${describeThreshold(threshold)}` }),
            actionButton("Delete", async () => {
              if (!(await confirmDialog("Delete threshold", `Delete “${describeThreshold(threshold)}”? Its open alert is resolved.`, "Delete"))) return;
              await api.call("DELETE", `${base}/${encodeURIComponent(threshold.id)}`);
              await refresh();
            }, { class: "secondary", "aria-label": `Delete ${describeThreshold(threshold)}` })) : null))));
  }
  const section = el("section", { class: "card", "aria-labelledby": "thresholds-title" },
    el("h3", { id: "thresholds-title" }, "Thresholds"),
    el("p", { class: "hint" }, "Raise an alert when a reading leaves its range (checked as readings arrive)."),
    list,
    canEdit ? el("details", { class: "editor" }, el("summary", {}, "Add a threshold"), editor(device.id, refresh)) : null);
  return { section, refresh };
}
