// Hash routes (#/plugs/<id>): every view has a link-able address, the back button works,
// and the server needs no route per view (it serves one page). A view is a module loaded on
// first use, so the first paint needs only the homes list.

const ROUTES = [
  { pattern: /^$/, view: "homes" },
  { pattern: /^homes\/([^/]+)$/, view: "home" },
  { pattern: /^plugs\/([^/]+)$/, view: "plug" },
  { pattern: /^alerts$/, view: "alerts" },
  { pattern: /^notifications$/, view: "notifications" },
  { pattern: /^account$/, view: "account" },
  { pattern: /^admin$/, view: "admin" },
];

/** The view and its parameters for the current address (`null` view: no such page). */
export function currentRoute() {
  if (/^#(reset-password|verify-email|invitation)=/.test(location.hash)) return { view: "mailed-link", params: [] }; // app.js
  const path = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  for (const { pattern, view } of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { view, params: match.slice(1) };
  }
  return { view: null, params: [] };
}

const PATHS = { homes: "", home: "homes", plug: "plugs" }; // view name → first path segment

/** The address of a view, for links: href("plug", id) is "#/plugs/<id>". */
export function href(view, ...params) {
  const first = PATHS[view] ?? view;
  return `#/${[first, ...params.map(encodeURIComponent)].filter(Boolean).join("/")}`;
}

/** Call `onRoute(route)` now and on every address change. */
export function startRouter(onRoute) {
  addEventListener("hashchange", () => onRoute(currentRoute()));
  onRoute(currentRoute());
}

/** Go to a view (adds a history entry, like following a link). */
export function go(view, ...params) {
  const target = href(view, ...params);
  if (location.hash === target || (target === "#/" && location.hash === "")) {
    dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = target;
  }
}
