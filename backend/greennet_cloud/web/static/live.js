// Live plug state: the last known values per plug, and the DOM nodes that show them.
//
// Views never re-render for an update. A view marks each live value with
// `liveField(plugId, field)`; `updatePlug` changes only those nodes. Sources of updates:
// the device list (on load and on Reload) and the realtime websocket (/api/v1/ws).

import { el, formatPower, timeOf } from "./dom.js";

const state = new Map(); // plug id → { power, relay, online, last_seen_at, … }

const RENDER = {
  power: (value) => formatPower(value),
  online: (value) => (value === true ? "online" : value === false ? "offline" : "unknown"),
  "last-seen": (value) => timeOf(value, "never seen"),
  relay: (value) => (value === "ON" ? "on" : value === "OFF" ? "off" : "unknown"),
};
const SOURCE = { "last-seen": "last_seen_at" }; // field name → key in the state record

/** The last known state of a plug (an empty record when nothing is known). */
export function plugState(plugId) {
  return state.get(plugId) ?? {};
}

function render(node, field, value) {
  if (typeof node.showLive === "function") node.showLive(value); // a control, e.g. the relay toggle
  else node.replaceChildren(RENDER[field](value));
  if (field === "online") node.dataset.state = RENDER.online(value);
}

/** A node that shows one live value of a plug and follows its updates. */
export function liveField(plugId, field, tag = "span", attributes = {}) {
  const node = el(tag, { ...attributes, "data-live-plug": plugId, "data-field": field });
  render(node, field, plugState(plugId)[SOURCE[field] ?? field]);
  return node;
}

/** Let an existing element (a control) follow a live value through its `showLive(value)`. */
export function bindLive(node, plugId, field) {
  node.dataset.livePlug = plugId;
  node.dataset.field = field;
  node.showLive(plugState(plugId)[SOURCE[field] ?? field]);
  return node;
}

/**
 * Merge `patch` into a plug's state and update every node showing a changed value. Returns
 * the names of the fields that changed.
 */
export function updatePlug(plugId, patch) {
  const before = plugState(plugId);
  const after = { ...before, ...patch };
  state.set(plugId, after);
  const changed = [];
  for (const field of Object.keys(RENDER)) {
    const key = SOURCE[field] ?? field;
    if (!(key in patch) || before[key] === after[key]) continue;
    changed.push(field);
    const selector = `[data-live-plug="${CSS.escape(plugId)}"][data-field="${field}"]`;
    for (const node of document.querySelectorAll(selector)) render(node, field, after[key]);
  }
  return changed;
}

/** Take what the device list says about each plug (last seen, and live fields it may carry). */
export function updateFromDevices(devices) {
  for (const device of devices) {
    const patch = { last_seen_at: device.last_seen_at ?? null };
    for (const key of ["power", "relay", "online"]) if (key in device) patch[key] = device[key];
    updatePlug(device.id, patch);
  }
}

/** Forget everything (logout). */
export function resetLive() {
  state.clear();
}
