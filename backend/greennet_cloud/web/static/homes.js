// The first view: the caller's homes, each with its plugs as cards showing live values.
// Rendered once per load; live values change in place (live.js), never by re-rendering.

import * as api from "./api.js";
import { el, field, form, openDialog, plugIdOf, plugName } from "./dom.js";
import { liveField } from "./live.js";
import { relayToggle } from "./relay.js";
import { go, href } from "./router.js";

const ACCESS_TEXT = {
  control: "Shared with you: can switch",
  read: "Shared with you: view only",
};

/** May the caller switch this plug's relay? */
export function canControl(device) {
  return device.access === "owner" || device.access === "control";
}

// One entry per line of a plug card: static details, then live values bound by field name.
const PLUG_FIELDS = [
  { field: "id", label: "Plug id", value: (device) => el("code", {}, plugIdOf(device)) },
  { field: "model", label: "Model", value: (device) => device.model || "unknown" },
  { field: "location", label: "Location", value: (device) => device.location || "not set" },
];

function plugCard(device, homeAccess) {
  const details = el("dl", { class: "fields" });
  for (const { field: name, label, value } of PLUG_FIELDS) {
    details.append(el("dt", {}, label), el("dd", { "data-field": name }, value(device)));
  }
  details.append(el("dt", {}, "Last seen"), liveField(device.id, "last-seen", "dd"));
  const badge =
    device.access !== homeAccess && ACCESS_TEXT[device.access]
      ? el("p", { class: "badge" }, ACCESS_TEXT[device.access])
      : null;
  return el(
    "li",
    { class: "plug", "data-plug-id": plugIdOf(device), "data-device-id": device.id },
    el("h4", { class: "plug-name" }, el("a", { href: href("plug", device.id) }, plugName(device))),
    badge,
    el("p", { class: "live" },
      liveField(device.id, "power", "span", { class: "power" }),
      " ",
      liveField(device.id, "status", "span", { class: "online" })),
    details,
    canControl(device) ? relayToggle(device) : null,
  );
}

function homeSection(key, home, title, access, devices, emptyText) {
  const headingId = `home-${key}`;
  const section = el("section", { class: "home", "aria-labelledby": headingId, "data-home-id": key });
  const manage = home && access === "owner"
    ? el("a", { class: "button secondary", href: href("home", home.id), "aria-label": `Manage ${title}` }, "Manage")
    : null;
  const name = home ? el("a", { href: href("home", home.id) }, title) : title;
  section.append(el("div", { class: "home-head" }, el("h3", { id: headingId }, name), manage));
  if (ACCESS_TEXT[access]) section.append(el("p", { class: "badge" }, ACCESS_TEXT[access]));
  if (devices.length === 0) {
    section.append(el("p", { class: "empty" }, emptyText));
  } else {
    section.append(el("ul", { class: "plugs" }, ...devices.map((device) => plugCard(device, access))));
  }
  return section;
}

/** Replace `container`'s content with the caller's homes and the plugs in each. */
export function renderHomes(container, homes, devices) {
  const byHome = new Map(homes.map((home) => [home.id, []]));
  const elsewhere = []; // plugs shared one by one, whose home is not shared with the caller
  for (const device of devices) (byHome.get(device.home_id) ?? elsewhere).push(device);
  const ordered = [...homes].sort((a, b) => (a.access === "owner" ? 0 : 1) - (b.access === "owner" ? 0 : 1));
  const sections = ordered.map((home) =>
    homeSection(
      home.id,
      home,
      home.name,
      home.access,
      byHome.get(home.id),
      home.access === "owner"
        ? "No plugs in this home yet. Link Home Assistant to this home (Manage) or pair a plug with a pairing code."
        : "No plugs in this home yet.",
    ),
  );
  if (elsewhere.length > 0) {
    sections.push(homeSection("shared-plugs", null, "Plugs shared with you", "shared", elsewhere, ""));
  }
  if (sections.length === 0) {
    sections.push(
      el("p", { class: "empty", id: "no-homes" }, "You have no homes yet, and nothing is shared with you."),
    );
  }
  container.replaceChildren(...sections);
}

/** The "New home" dialog; opens the new home's page once it exists. */
export function newHomeDialog(onCreated) {
  return openDialog("New home", (close) =>
    form({ id: "new-home-form" }, [
      field("new-home-name", "Name", { name: "name", required: true, maxlength: 200, autocomplete: "off" }),
    ], "Create home", async ({ name }) => {
      // local days for energy: the browser's time zone, changeable on the home's page
      const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const home = await api.call("POST", "/api/v1/homes", { name: name.trim(), ...(timezone ? { timezone } : {}) });
      close();
      await onCreated(home);
      go("home", home.id);
    }),
  );
}
