// The relay toggle: pending while the cloud asks the plug (through the linked Home
// Assistant), then the state the plug confirmed. A refusal (503 plug or hub offline, 504 no
// answer, 403 read-only) is shown next to the button and the last confirmed state kept.

import * as api from "./api.js";
import { el, messageOf, plugName } from "./dom.js";
import { bindLive, updatePlug } from "./live.js";

const TEXT = { ON: "On", OFF: "Off" };
// what a refused remote command means to someone holding a phone (the API's message otherwise)
const REFUSALS = {
  plug_offline: "the plug is offline: Home Assistant cannot reach it.",
  hub_offline: "this home's Home Assistant is not connected to GreenNet Cloud right now.",
  command_timeout: "the plug did not confirm in time. Try again.",
};

/** The text for a failed remote command. */
export function refusalText(err) {
  return (err instanceof api.ApiError && REFUSALS[err.code]) || messageOf(err);
}
const RELAY_ROUTE = "/api/v1/devices/{device_id}/relay";

/** The confirmed relay state in a `POST …/relay` answer. */
function confirmedRelay(answer) {
  const value = answer?.relay ?? answer?.state?.relay ?? answer?.state;
  return value === "ON" || value === "OFF" ? value : null;
}

/** A toggle for one plug's relay; follows live relay updates while nothing is pending. */
export function relayToggle(device) {
  let confirmed = null;
  let pending = false;
  const label = el("span", { class: "relay-label" });
  const button = el("button", {
    type: "button",
    class: "relay",
    "aria-pressed": "mixed",
    "aria-label": `Relay of ${plugName(device)}`,
    "data-relay": device.id,
  }, label);
  const message = el("p", { class: "relay-error", role: "alert", hidden: true });

  const show = () => {
    button.dataset.state = pending ? "pending" : (confirmed ?? "unknown").toLowerCase();
    button.setAttribute("aria-busy", String(pending));
    button.setAttribute("aria-pressed", confirmed === "ON" ? "true" : confirmed === "OFF" ? "false" : "mixed");
    label.textContent = pending ? "Switching…" : TEXT[confirmed] ?? "Unknown";
  };
  button.showLive = (value) => {
    confirmed = value === "ON" || value === "OFF" ? value : null;
    if (!pending) show();
  };

  button.addEventListener("click", async () => {
    if (pending) return; // aria-disabled, not disabled: the button keeps keyboard focus
    const wanted = confirmed === "ON" ? "OFF" : confirmed === "OFF" ? "ON" : "TOGGLE";
    pending = true;
    button.setAttribute("aria-disabled", "true");
    message.hidden = true;
    show();
    try {
      const answer = await api.call("POST", `/api/v1/devices/${encodeURIComponent(device.id)}/relay`, { state: wanted });
      pending = false;
      const relay = confirmedRelay(answer);
      if (relay !== null) updatePlug(device.id, { relay }); // every view of this plug follows
      button.showLive(relay ?? confirmed);
    } catch (err) {
      pending = false;
      message.textContent = `Not switched: ${refusalText(err)}`;
      message.hidden = false;
      show();
    } finally {
      button.removeAttribute("aria-disabled");
    }
  });

  bindLive(button, device.id, "relay");
  const control = el("div", { class: "relay-control", hidden: true }, button, message);
  // remote relay commands need the cloud link (issue #13): offer the toggle once the server has the route
  api.supports("POST", RELAY_ROUTE).then((offered) => {
    control.hidden = !offered;
  });
  return control;
}
