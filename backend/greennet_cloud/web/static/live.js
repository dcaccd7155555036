// Live plug state: the last known values per plug, and the DOM nodes that show them.
//
// Views never re-render for an update. A view marks each live value with
// `liveField(deviceId, field)`; `updatePlug` changes only those nodes. Sources of updates:
// the device list (on load and on Reload) and the realtime websocket (/api/v1/ws).

import { el, formatPower, timeOf } from "./dom.js";

const state = new Map(); // device id → { power, relay, online, last_seen_at, … }

const RENDER = {
  power: (value) => formatPower(value),
  status: (value) => (value === true ? "online" : value === false ? "offline" : "unknown"),
  "last-seen": (value) => timeOf(value, "never seen"),
  relay: (value) => (value === "ON" ? "on" : value === "OFF" ? "off" : "unknown"),
  tripped: (value) => (value === true ? "Tripped: the plug switched itself off." : value === false ? "Not tripped." : "Not known yet."),
};
const SOURCE = { "last-seen": "last_seen_at", status: "online" }; // field → key in the state record

/** The last known state of a plug (an empty record when nothing is known). */
export function plugState(deviceId) {
  return state.get(deviceId) ?? {};
}

function render(node, field, value) {
  if (typeof node.showLive === "function") node.showLive(value); // a control, e.g. the relay toggle
  else node.replaceChildren(RENDER[field](value));
  if (field === "status") node.dataset.state = RENDER.status(value);
}

/** A node that shows one live value of a plug and follows its updates. */
export function liveField(deviceId, field, tag = "span", attributes = {}) {
  const node = el(tag, { ...attributes, "data-live-device": deviceId, "data-field": field });
  render(node, field, plugState(deviceId)[SOURCE[field] ?? field]);
  return node;
}

/** Let an existing element (a control) follow a live value through its `showLive(value)`. */
export function bindLive(node, deviceId, field) {
  node.dataset.liveDevice = deviceId;
  node.dataset.field = field;
  node.showLive(plugState(deviceId)[SOURCE[field] ?? field]);
  return node;
}

/**
 * Merge `patch` into a device's state and update every node showing a changed value. Returns
 * the names of the fields that changed.
 */
export function updatePlug(deviceId, patch) {
  const before = plugState(deviceId);
  const after = { ...before, ...patch };
  state.set(deviceId, after);
  const changed = [];
  for (const field of Object.keys(RENDER)) {
    const key = SOURCE[field] ?? field;
    if (!(key in patch) || before[key] === after[key]) continue;
    changed.push(field);
    const selector = `[data-live-device="${CSS.escape(deviceId)}"][data-field="${field}"]`;
    for (const node of document.querySelectorAll(selector)) render(node, field, after[key]);
  }
  return changed;
}

// One spelling per instant: the API writes microseconds ("…05.123000Z"), the websocket's
// milliseconds become "…05.123Z"; the same time must not count as a change (and be redrawn).
const instant = (text) => (text ? new Date(text).toISOString() : null);

/** Take what the device list says about each plug (last seen, and live fields it may carry). */
export function updateFromDevices(devices) {
  for (const device of devices) {
    const patch = { last_seen_at: instant(device.last_seen_at) };
    for (const key of ["power", "relay", "online"]) if (key in device) patch[key] = device[key];
    updatePlug(device.id, patch);
  }
}

/** Forget everything (logout). */
export function resetLive() {
  state.clear();
}
