// The live websocket (/api/v1/ws): readings, relay state, availability, alerts and
// notifications pushed as they happen, applied to the page in place (live.js).
//
// Opening it takes a ticket: POST /api/v1/ws/tickets with the bearer token answers a
// single-use, 30-second ticket, and the socket URL carries that ticket, never the token.
// The page subscribes to every home it shows and to plugs shared one by one. A dropped
// socket reconnects with a new ticket (backoff with jitter) and reloads what the page
// shows, since updates may have been missed; close code 4001 means the session ended.

import * as api from "./api.js";
import { updatePlug } from "./live.js";

/** Live events for views: "alert" and "notification" (detail: the server's message). */
export const liveEvents = new EventTarget();

const SESSION_ENDED = 4001;
const MAX_IDS = 100; // per subscribe message (the server's limit)
let socket = null;
let wanted = { homes: new Set(), devices: new Set() };
let subscribed = new Set();
let attempts = 0;
let retry = null;
let hooks = null; // { reload(), sessionEnded() } from app.js
let stopped = true;

const iso = (ms) => (typeof ms === "number" ? new Date(ms).toISOString() : null);

/** Say in the navigation whether values are live ("live", "reconnecting", or hidden). */
function showState(state) {
  const node = document.getElementById("live-state");
  node.hidden = state === null;
  node.dataset.state = state ?? "";
  node.textContent = state === "live" ? "Live" : state === "reconnecting" ? "Reconnecting…" : "";
}

function handle(message) {
  switch (message.type) {
    case "hello":
      showState("live");
      attempts = 0;
      subscribed = new Set();
      subscribe();
      break;
    case "telemetry":
      updatePlug(message.device_id, {
        power: message.power, relay: message.relay, online: true, last_seen_at: iso(message.ts),
      });
      break;
    case "state": // a relay change, or what the linked Home Assistant reported (relay, trip)
      updatePlug(message.device_id, {
        ...(message.relay === "ON" || message.relay === "OFF" ? { relay: message.relay } : {}),
        ...(typeof message.tripped === "boolean" ? { tripped: message.tripped } : {}),
      });
      break;
    case "availability":
      updatePlug(message.device_id, { online: message.online, ...(message.ts ? { last_seen_at: iso(message.ts) } : {}) });
      break;
    case "alert":
    case "notification":
      liveEvents.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      break;
    case "resync":
      hooks?.reload();
      break;
    case "unsubscribed":
      if (message.reason === "access_revoked") hooks?.reload(); // a share ended: redraw without it
      break;
    default:
      break; // subscribed, pong, error: nothing to show
  }
}

/** Subscribe to whatever the page shows and the socket does not carry yet. */
function subscribe() {
  if (socket?.readyState !== WebSocket.OPEN) return;
  const homes = [...wanted.homes].filter((id) => !subscribed.has(`h:${id}`));
  const devices = [...wanted.devices].filter((id) => !subscribed.has(`d:${id}`));
  for (let start = 0; start < homes.length + devices.length; start += MAX_IDS) {
    const ids = [...homes.map((id) => ["homes", id]), ...devices.map((id) => ["devices", id])].slice(start, start + MAX_IDS);
    const message = { type: "subscribe", homes: [], devices: [] };
    for (const [kind, id] of ids) {
      message[kind].push(id);
      subscribed.add(`${kind === "homes" ? "h" : "d"}:${id}`);
    }
    socket.send(JSON.stringify(message));
  }
}

/** What the page shows: the homes listed and the plugs outside them (shared one by one). */
export function followLive(homes, devices) {
  const homeIds = new Set(homes.map((home) => home.id));
  wanted = { homes: homeIds, devices: new Set(devices.filter((d) => !homeIds.has(d.home_id)).map((d) => d.id)) };
  subscribe();
}

async function open() {
  retry = null;
  if (stopped) return;
  let ticket;
  try {
    ticket = await api.call("POST", "/api/v1/ws/tickets");
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401 && !api.hasSession()) return hooks?.sessionEnded();
    return reconnectLater();
  }
  if (stopped) return;
  const url = new URL(ticket.url, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const current = new WebSocket(url);
  socket = current;
  current.addEventListener("message", (event) => {
    try {
      handle(JSON.parse(event.data));
    } catch (err) {
      console.error("live update not applied", err);
    }
  });
  current.addEventListener("close", (event) => {
    if (socket !== current) return;
    socket = null;
    if (stopped) return;
    if (event.code === SESSION_ENDED) { // logout elsewhere, revoked, password changed, expired
      api.refresh().then(() => open(), () => {
        stopLive();
        hooks?.sessionEnded();
      });
      return;
    }
    reconnectLater(true);
  });
}

function reconnectLater(reload = false) {
  if (stopped || retry !== null) return;
  showState("reconnecting");
  attempts += 1;
  const delay = Math.random() * Math.min(30_000, 1000 * 2 ** attempts); // full jitter
  retry = setTimeout(() => {
    if (reload) hooks?.reload(); // what the socket missed while it was down
    open();
  }, delay);
}

/** Open the live socket for this session (once the server offers it). */
export async function startLive(callbacks) {
  hooks = callbacks;
  if (!stopped) return;
  if (!(await api.supports("POST", "/api/v1/ws/tickets"))) return; // part 3 (issue #12)
  stopped = false;
  attempts = 0;
  open();
}

/** Close the socket (logout). */
export function stopLive() {
  stopped = true;
  clearTimeout(retry);
  retry = null;
  subscribed = new Set();
  wanted = { homes: new Set(), devices: new Set() };
  const current = socket;
  socket = null;
  current?.close(1000);
  showState(null);
}

/** Whether the socket is open (for the page's own checks and tests). */
export function liveConnected() {
  return socket?.readyState === WebSocket.OPEN;
}
