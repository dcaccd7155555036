// One plug: live values and the relay toggle, history and energy, details, sharing.

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, el, field, form, plugIdOf, plugName, timeOf } from "./dom.js";
import { canControl } from "./homes.js";
import { liveField, updateFromDevices, updatePlug } from "./live.js";
import { relayToggle } from "./relay.js";
import { protectionSection } from "./remote.js";
import { fetchHistory, historySections } from "./history.js";
import { go, href } from "./router.js";
import { sharingSection } from "./share.js";
import { thresholdsSection } from "./thresholds.js";

const path = (deviceId, rest = "") => `/api/v1/devices/${encodeURIComponent(deviceId)}${rest}`;
let leaving = null; // cleanup of the page on screen (resize listener)

function liveSection(device) {
  return el("section", { class: "card live-card", "aria-labelledby": "live-title" },
    el("h3", { id: "live-title" }, "Now"),
    el("p", { class: "live big" },
      liveField(device.id, "power", "span", { class: "power", id: "plug-power" }),
      " ",
      liveField(device.id, "status", "span", { class: "online" })),
    el("dl", { class: "fields" },
      el("dt", {}, "Last seen"), liveField(device.id, "last-seen", "dd"),
      el("dt", {}, "Relay"), liveField(device.id, "relay", "dd")),
    canControl(device) ? relayToggle(device) : el("p", { class: "hint" }, "View only: you cannot switch this plug."));
}

function detailsSection(device, home, heading) {
  const rows = el("dl", { class: "fields" },
    el("dt", {}, "Plug id"), el("dd", {}, el("code", {}, plugIdOf(device))),
    el("dt", {}, "Home"), el("dd", {}, home ? el("a", { href: href("home", home.id) }, home.name) : "shared with you"),
    el("dt", {}, "Added"), el("dd", {}, timeOf(device.created_at)));
  const section = el("section", { class: "card", "aria-labelledby": "details-title" },
    el("h3", { id: "details-title" }, "Details"), rows);
  if (device.access !== "owner") {
    rows.append(el("dt", {}, "Model"), el("dd", {}, device.model || "unknown"),
      el("dt", {}, "Location"), el("dd", {}, device.location || "not set"));
    return section;
  }
  section.append(form({ id: "plug-details-form" }, [
    field("plug-name", "Name", { name: "name", maxlength: 200, value: device.name ?? "", autocomplete: "off" }),
    field("plug-location", "Location", { name: "location", maxlength: 200, value: device.location ?? "", autocomplete: "off" }),
    field("plug-model", "Model", { name: "model", maxlength: 200, value: device.model ?? "", autocomplete: "off" }),
  ], "Save", async (values) => {
    const saved = await api.call("PATCH", path(device.id), {
      name: values.name.trim(), location: values.location.trim(), model: values.model.trim(),
    });
    Object.assign(device, saved);
    heading.textContent = plugName(saved);
    announce("Saved.");
  }));
  return section;
}

function credentialsSection(device) {
  const list = el("ul", { class: "rows", "data-list": "credentials" });
  const secret = el("div", { class: "created", hidden: true });
  async function refresh() {
    const credentials = await api.call("GET", path(device.id, "/credentials"));
    const active = credentials.filter((credential) => !credential.revoked_at);
    list.replaceChildren(...(active.length === 0
      ? [el("li", { class: "empty" }, "No active ingest secret.")]
      : active.map((credential) => el("li", { class: "row" },
          el("span", { class: "row-main" }, "Secret issued ", timeOf(credential.created_at)),
          actionButton("Revoke", async () => {
            if (!(await confirmDialog("Revoke ingest secret", "The plug can no longer send readings with it.", "Revoke"))) return;
            await api.call("DELETE", path(device.id, `/credentials/${encodeURIComponent(credential.id)}`));
            await refresh();
          }, { class: "secondary", "aria-label": `Revoke the ingest secret issued ${credential.created_at}` })))));
  }
  const section = el("section", { class: "card", "aria-labelledby": "credentials-title" },
    el("h3", { id: "credentials-title" }, "Direct ingest secret"),
    el("p", { class: "hint" }, "For a plug that sends its readings to GreenNet Cloud itself (signed with this secret). Plugs behind Home Assistant do not need it."),
    list,
    el("div", { class: "actions" }, actionButton("Issue a new secret", async () => {
      if (!(await confirmDialog("New ingest secret", "A new secret revokes the current one.", "Issue new secret"))) return;
      const issued = await api.call("POST", path(device.id, "/credentials"));
      secret.replaceChildren(el("p", { class: "notice" }, "Copy it now: it is shown only once."),
        el("pre", { class: "copyable", tabindex: "0" }, issued.secret));
      secret.hidden = false;
      await refresh();
    }, { class: "secondary" })),
    secret);
  return { section, refresh };
}

function deleteSection(device, context) {
  return el("section", { class: "card danger-zone", "aria-labelledby": "delete-plug-title" },
    el("h3", { id: "delete-plug-title" }, "Remove plug"),
    el("div", { class: "actions" }, actionButton("Remove this plug…", async () => {
      if (!(await confirmDialog("Remove plug", `Remove “${plugName(device)}” and its history?`, "Remove plug"))) return;
      await api.call("DELETE", path(device.id));
      await context.reloadHomes();
      announce(`“${plugName(device)}” was removed.`);
      go("homes");
    }, { class: "danger" })));
}

const RECENT_MS = 2 * 60_000;

/** Power and relay of the plug's newest reading of the last two minutes, if any. */
async function latestReading(device) {
  const to = Date.now();
  const answer = await fetchHistory(device.id, to - RECENT_MS, to + 1, "raw");
  const newest = answer.points?.at(-1);
  if (newest) updatePlug(device.id, { power: newest.power, relay: newest.relay });
}

/** Render the plug page into `container`. */
export async function show(container, context, deviceId) {
  const device = await api.call("GET", path(deviceId));
  updateFromDevices([device]);
  const home = context.homes.find((one) => one.id === device.home_id);
  const heading = el("h2", { id: "plug-title", tabindex: "-1" }, plugName(device));
  container.append(
    el("p", { class: "crumbs" }, el("a", { href: href("homes") }, "← All homes")),
    heading,
    liveSection(device),
  );
  // history comes with the telemetry part of the cloud (issue #11): shown once the server has it
  if (await api.supports("GET", "/api/v1/devices/{device_id}/telemetry")) {
    latestReading(device).catch(() => {}); // live updates take over from here
    const history = historySections(device);
    container.append(...history.sections);
    leaving = history.leave;
  }
  if (canControl(device) && (await api.supports("POST", "/api/v1/devices/{device_id}/protection"))) {
    container.append(protectionSection(device)); // with the HA link (issue #13)
  }
  if (await api.supports("GET", "/api/v1/devices/{device_id}/thresholds")) {
    const thresholds = thresholdsSection(device, canControl(device));
    container.append(thresholds.section);
    await thresholds.refresh();
  }
  container.append(detailsSection(device, home, heading));
  if (device.access !== "owner") return;
  const sharing = sharingSection("device", device.id, plugName(device));
  const credentials = credentialsSection(device);
  container.append(sharing.section, credentials.section, deleteSection(device, context));
  await Promise.all([sharing.refresh(), credentials.refresh()]);
}

export function leave() {
  leaving?.();
  leaving = null;
}
