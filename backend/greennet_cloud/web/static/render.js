// Homes and plugs as DOM. API text only ever becomes text nodes (append / textContent),
// never HTML, so a name like "<img onerror=…>" shows as those characters.

/** An element with fixed attributes; string children become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const ACCESS_TEXT = {
  control: "Shared with you: can switch",
  read: "Shared with you: view only",
};

function lastSeen(device) {
  if (!device.last_seen_at) return "never seen";
  const when = new Date(device.last_seen_at);
  return el("time", { datetime: device.last_seen_at }, when.toLocaleString());
}

// One entry per line of a plug card. Part 2 adds live power here (a field the realtime
// websocket updates through [data-device-id] / [data-field]) and a relay toggle in plugActions.
export const PLUG_FIELDS = [
  { field: "id", label: "Plug id", value: (device) => el("code", {}, device.plug_id) },
  { field: "model", label: "Model", value: (device) => device.model || "unknown" },
  { field: "location", label: "Location", value: (device) => device.location || "not set" },
  { field: "last-seen", label: "Last seen", value: lastSeen },
  { field: "status", label: "Status", value: (device) => (device.online ? "online" : "offline") },
];

/** Buttons under a plug card; none until part 2 brings relay control. */
export function plugActions(_device) {
  return [];
}

function plugCard(device, homeAccess) {
  const details = el("dl", { class: "fields" });
  for (const { field, label, value } of PLUG_FIELDS) {
    details.append(el("dt", {}, label), el("dd", { "data-field": field }, value(device)));
  }
  const badge =
    device.access !== homeAccess && ACCESS_TEXT[device.access]
      ? el("p", { class: "badge" }, ACCESS_TEXT[device.access])
      : null;
  const actions = plugActions(device);
  return el(
    "li",
    { class: "plug", "data-plug-id": device.plug_id, "data-device-id": device.id },
    el("h4", { class: "plug-name" }, device.name || device.plug_id),
    badge,
    details,
    actions.length ? el("div", { class: "actions" }, ...actions) : null,
  );
}

function homeSection(key, title, access, devices, emptyText) {
  const headingId = `home-${key}`;
  const section = el("section", { class: "home", "aria-labelledby": headingId, "data-home-id": key });
  section.append(el("h3", { id: headingId }, title));
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
      home.name,
      home.access,
      byHome.get(home.id),
      home.access === "owner"
        ? "No plugs in this home yet. Link Home Assistant to this home or pair a plug with a pairing code."
        : "No plugs in this home yet.",
    ),
  );
  if (elsewhere.length > 0) {
    sections.push(homeSection("shared-plugs", "Plugs shared with you", "shared", elsewhere, ""));
  }
  if (sections.length === 0) {
    sections.push(
      el("p", { class: "empty", id: "no-homes" }, "You have no homes yet, and nothing is shared with you."),
    );
  }
  container.replaceChildren(...sections);
}
