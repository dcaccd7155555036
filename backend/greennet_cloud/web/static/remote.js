// Remote access beyond the relay: a plug's overload protection (limits, reset a trip) and
// a home's audit trail of remote commands. Both go through the linked Home Assistant, so
// an answer is the state the plug confirmed, or a clear refusal (503 offline, 504 timeout).
// POST /api/v1/devices/{id}/protection, GET /api/v1/homes/{id}/commands.

import * as api from "./api.js";
import { actionButton, announce, el, field, form, timeOf } from "./dom.js";
import { liveField, updatePlug } from "./live.js";

/** The plug page's "Overload protection" section (owners and control shares). */
export function protectionSection(device) {
  const path = `/api/v1/devices/${encodeURIComponent(device.id)}/protection`;
  if (typeof device.tripped === "boolean") updatePlug(device.id, { tripped: device.tripped }); // the page's fresh answer
  const state = liveField(device.id, "tripped", "p", { id: "protection-state" }); // follows the hub's reports
  const confirmed = (answer) => {
    updatePlug(device.id, {
      tripped: answer.tripped === true,
      ...(answer.relay === "ON" || answer.relay === "OFF" ? { relay: answer.relay } : {}),
    });
    const limits = [
      answer.max_current != null ? `${answer.max_current} A` : null,
      answer.max_power != null ? `${answer.max_power} W` : null,
    ].filter(Boolean);
    announce(`The plug confirmed${limits.length ? `: limits ${limits.join(", ")}` : ""}.`);
  };
  return el("section", { class: "card", "aria-labelledby": "protection-title" },
    el("h3", { id: "protection-title" }, "Overload protection"),
    el("p", { class: "hint" }, "The plug switches itself off above these limits."),
    state,
    form({ id: "protection-form" }, [
      field("max-current", "Maximum current (A)", { name: "max_current", type: "number", min: 0, step: "any" }),
      field("max-power", "Maximum power (W)", { name: "max_power", type: "number", min: 0, step: "any" }),
    ], "Set limits", async ({ max_current, max_power }) => {
      const body = {};
      if (max_current !== "") body.max_current = Number(max_current);
      if (max_power !== "") body.max_power = Number(max_power);
      if (Object.keys(body).length === 0) return announce("Enter a limit first.");
      confirmed(await api.call("POST", path, body));
    }),
    el("div", { class: "actions" }, actionButton("Reset a trip", async () => {
      confirmed(await api.call("POST", path, { reset: true }));
    }, { class: "secondary", id: "protection-reset" })));
}

function describe(command) {
  const params = command.params ?? {};
  if (command.action === "relay") return `Relay ${params.value ?? params.state ?? ""}`.trim();
  const parts = [];
  if (params.max_current != null) parts.push(`max ${params.max_current} A`);
  if (params.max_power != null) parts.push(`max ${params.max_power} W`);
  if (params.reset) parts.push("reset");
  return `Protection ${parts.join(", ")}`.trim();
}

/** The home page's "Remote commands" section (owners): who switched what, and the result. */
export function commandsSection(homeId) {
  const list = el("ul", { class: "rows", "data-list": "commands" });
  async function refresh() {
    const commands = await api.call("GET", `/api/v1/homes/${encodeURIComponent(homeId)}/commands?limit=20`);
    list.replaceChildren(...(commands.length === 0
      ? [el("li", { class: "empty" }, "No remote commands yet.")]
      : commands.map((command) => el("li", { class: "row", "data-command-id": command.id },
          el("span", { class: "row-main" },
            el("strong", {}, describe(command)), " on ", el("code", {}, command.plug_id ?? command.device_id), el("br"),
            el("small", {}, command.email ?? "someone", ", ", timeOf(command.created_at), ": ", command.result ?? "waiting"))))));
  }
  const section = el("section", { class: "card", "aria-labelledby": "commands-title" },
    el("h3", { id: "commands-title" }, "Remote commands"),
    list);
  return { section, refresh };
}
