// One home: rename, its plugs, sharing, Home Assistant link tokens, pairing codes, delete.

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, copyText, el, field, form, plugIdOf, plugName, timeOf } from "./dom.js";
import { energySection } from "./history.js";
import { commandsSection } from "./remote.js";
import { go, href } from "./router.js";
import { sharingSection } from "./share.js";

const path = (homeId, rest = "") => `/api/v1/homes/${encodeURIComponent(homeId)}${rest}`;

/** The text a user pastes into Home Assistant to link it to this home. */
export function linkInstructions(home, token) {
  return [
    `Link Home Assistant to the GreenNet Cloud home “${home.name}”:`,
    "1. In Home Assistant open Settings → Devices & services → GreenNet → Configure.",
    "2. Choose “Link to GreenNet Cloud”.",
    `3. Cloud address: ${location.origin}`,
    `4. Home id: ${home.id}`,
    `5. Link token: ${token}`,
    "Keep the token secret: it lets that Home Assistant send this home's readings and take its commands.",
    "Revoke it in the GreenNet Cloud dashboard (Homes → Manage) to cut the link.",
  ].join("\n");
}

function renameSection(home, context, heading) {
  return el("section", { class: "card", "aria-labelledby": "rename-title" },
    el("h3", { id: "rename-title" }, "Name"),
    form({ id: "rename-home-form" }, [
      field("home-name", "Home name", { name: "name", required: true, maxlength: 200, value: home.name, autocomplete: "off" }),
    ], "Rename", async ({ name }) => {
      const renamed = await api.call("PATCH", path(home.id), { name: name.trim() });
      home.name = renamed.name;
      heading.textContent = renamed.name;
      announce(`Renamed to “${renamed.name}”.`);
      await context.reloadHomes();
    }));
}

/** Time zone (local days for energy) and tariff (cost next to energy), when the API has them. */
function energySettingsSection(home) {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const tariff = home.tariff ?? null;
  return el("section", { class: "card", "aria-labelledby": "energy-settings-title" },
    el("h3", { id: "energy-settings-title" }, "Time zone and tariff"),
    el("p", { class: "hint" }, "Energy is counted per local day and month of this time zone; a tariff adds its cost."),
    form({ id: "energy-settings-form" }, [
      field("home-timezone", "Time zone", { name: "timezone", required: true, value: home.timezone ?? "UTC", list: "time-zones", autocomplete: "off" }),
      el("datalist", { id: "time-zones" }, ...zones.map((zone) => el("option", { value: zone }))),
      field("home-price", "Price per kWh (empty: no tariff)", { name: "price_per_kwh", type: "number", min: 0, max: 1000, step: "any", value: tariff?.price_per_kwh ?? "" }),
      field("home-currency", "Currency (ISO code, e.g. EUR)", { name: "currency", maxlength: 3, pattern: "[A-Za-z]{3}", value: tariff?.currency ?? "", autocomplete: "off" }),
    ], "Save", async ({ timezone, price_per_kwh, currency }) => {
      const tariffValue = price_per_kwh === "" ? null : { price_per_kwh: Number(price_per_kwh), currency: currency.trim().toUpperCase() };
      const saved = await api.call("PATCH", path(home.id), { timezone: timezone.trim(), tariff: tariffValue });
      Object.assign(home, saved);
      announce("Time zone and tariff saved.");
    }));
}

function linkSection(home) {
  const list = el("ul", { class: "rows", "data-list": "link-tokens" });
  const created = el("div", { class: "created", id: "link-token-created", hidden: true });

  async function refresh() {
    const tokens = await api.call("GET", path(home.id, "/link-tokens"));
    list.replaceChildren(...(tokens.length === 0
      ? [el("li", { class: "empty" }, "No Home Assistant is linked with a token.")]
      : tokens.map((token) => el("li", { class: "row", "data-token-id": token.id },
          el("span", { class: "row-main" }, token.name || "Unnamed token", el("br"),
            el("small", {}, "Created ", timeOf(token.created_at), ", last used ", timeOf(token.last_used_at, "never"))),
          actionButton("Revoke", async () => {
            const label = token.name || "this token";
            if (!(await confirmDialog("Revoke link token", `Revoke ${label}? The Home Assistant using it loses its link at once.`, "Revoke"))) return;
            await api.call("DELETE", path(home.id, `/link-tokens/${encodeURIComponent(token.id)}`));
            created.hidden = true;
            created.replaceChildren();
            announce(`Link token ${label} revoked.`);
            await refresh();
          }, { class: "secondary", "aria-label": `Revoke link token ${token.name || token.id}` })))));
  }

  const createForm = form({ id: "link-token-form" }, [
    field("link-token-name", "Name (which Home Assistant uses it)", { name: "name", maxlength: 100, autocomplete: "off", placeholder: "e.g. Home Assistant at home" }),
  ], "Create link token", async ({ name }) => {
    const issued = await api.call("POST", path(home.id, "/link-tokens"), { name: name.trim() });
    const text = linkInstructions(home, issued.token);
    const block = el("pre", { class: "copyable", id: "link-instructions", tabindex: "0" }, text);
    created.replaceChildren(
      el("p", { class: "notice" }, "Copy this now: the token is shown only once."),
      block,
      el("div", { class: "actions" },
        el("button", { type: "button", id: "copy-link-instructions", onclick: () => copyText(text, block) }, "Copy instructions"),
        el("button", { type: "button", class: "secondary", onclick: () => copyText(issued.token, block) }, "Copy token only")),
    );
    created.hidden = false;
    createForm.reset();
    await refresh();
    block.focus();
  });

  const section = el("section", { class: "card", "aria-labelledby": "link-title" },
    el("h3", { id: "link-title" }, "Home Assistant link"),
    el("p", { class: "hint" }, "A link token lets one Home Assistant send this home's plugs and readings to GreenNet Cloud, and take remote commands."),
    list, createForm, created);
  return { section, refresh };
}

function pairingSection(home) {
  const result = el("p", { class: "created", id: "pairing-code", hidden: true, role: "status" });
  return el("section", { class: "card", "aria-labelledby": "pairing-title" },
    el("h3", { id: "pairing-title" }, "Pair a plug"),
    el("p", { class: "hint" }, "A plug without Home Assistant joins this home with a pairing code: single use, valid for minutes."),
    el("div", { class: "actions" }, actionButton("Make a pairing code", async () => {
      const code = await api.call("POST", path(home.id, "/pairing-codes"));
      result.replaceChildren("Code ", el("code", { class: "big" }, code.code), ", valid until ", timeOf(code.expires_at));
      result.hidden = false;
    })),
    result);
}

function deleteSection(home, context) {
  return el("section", { class: "card danger-zone", "aria-labelledby": "delete-title" },
    el("h3", { id: "delete-title" }, "Delete home"),
    el("p", { class: "hint" }, "Deletes its plugs, their history, shares and link tokens."),
    el("div", { class: "actions" }, actionButton("Delete this home…", async () => {
      if (!(await confirmDialog("Delete home", `Delete “${home.name}” with all its plugs and data? This cannot be undone.`, "Delete home"))) return;
      await api.call("DELETE", path(home.id));
      await context.reloadHomes();
      announce(`“${home.name}” was deleted.`);
      go("homes");
    }, { class: "danger" })));
}

/** Render the home page into `container`. */
export async function show(container, context, homeId) {
  const [home, devices] = await Promise.all([
    api.call("GET", path(homeId)),
    api.call("GET", path(homeId, "/devices")),
  ]);
  const heading = el("h2", { id: "home-title", tabindex: "-1" }, home.name);
  const plugs = el("section", { class: "card", "aria-labelledby": "home-plugs-title" },
    el("h3", { id: "home-plugs-title" }, "Plugs"),
    devices.length === 0
      ? el("p", { class: "empty" }, "No plugs yet. Link Home Assistant or pair a plug below.")
      : el("ul", { class: "rows" }, ...devices.map((device) =>
          el("li", { class: "row" }, el("a", { href: href("plug", device.id) }, plugName(device)), " ", el("code", {}, plugIdOf(device))))));
  container.append(el("p", { class: "crumbs" }, el("a", { href: href("homes") }, "← All homes")), heading);
  if (home.access !== "owner") {
    container.append(el("p", { class: "badge" }, home.access === "control" ? "Shared with you: can switch" : "Shared with you: view only"));
  }
  container.append(plugs);
  if (await api.supports("GET", "/api/v1/homes/{home_id}/energy")) { // with telemetry (issue #11)
    const energy = energySection("homes", home.id);
    container.append(energy.section);
    energy.draw();
  }
  if (home.access !== "owner") return;
  const sharing = sharingSection("home", home.id, home.name);
  const link = linkSection(home);
  const commands = (await api.supports("GET", "/api/v1/homes/{home_id}/commands")) ? commandsSection(home.id) : null;
  container.append(renameSection(home, context, heading),
    ...("timezone" in home ? [energySettingsSection(home)] : []), // with the telemetry part (issue #11)
    sharing.section, link.section, ...(commands ? [commands.section] : []), // with the HA link (#13)
    pairingSection(home), deleteSection(home, context));
  await Promise.all([sharing.refresh(), link.refresh(), commands?.refresh()]);
}
