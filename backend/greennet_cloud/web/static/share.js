// Sharing a home or one plug: who has access (with revoke), and the share dialog.

import * as api from "./api.js";
import { actionButton, announce, confirmDialog, el, field, form, openDialog } from "./dom.js";

const PERMISSIONS = [
  ["control", "Can switch (control)"],
  ["read", "View only (read)"],
];
const PERMISSION_TEXT = Object.fromEntries(PERMISSIONS);

function basePath(kind, id) {
  return `/api/v1/${kind === "home" ? "homes" : "devices"}/${encodeURIComponent(id)}/shares`;
}

/**
 * The "Sharing" section of a home or plug page (owners only): the list of shares and a
 * "Share…" button that opens the dialog. `kind` is "home" or "device".
 */
export function sharingSection(kind, id, name) {
  const list = el("ul", { class: "rows", "data-list": `${kind}-shares` });
  const section = el("section", { class: "card", "aria-labelledby": `${kind}-sharing-title` },
    el("h3", { id: `${kind}-sharing-title` }, "Sharing"),
    list,
    el("div", { class: "actions" },
      el("button", { type: "button", id: `share-${kind}`, onclick: () => shareDialog(kind, id, name, refresh) },
        kind === "home" ? "Share this home…" : "Share this plug…")));

  async function refresh() {
    const shares = await api.call("GET", basePath(kind, id));
    list.replaceChildren(...(shares.length === 0
      ? [el("li", { class: "empty" }, "Not shared with anyone.")]
      : shares.map((share) => el("li", { class: "row", "data-share-id": share.id },
          el("span", { class: "row-main" }, share.email, " ", el("span", { class: "badge" }, PERMISSION_TEXT[share.permission] ?? share.permission)),
          actionButton("Revoke", async () => {
            if (!(await confirmDialog("Revoke share", `Stop sharing “${name}” with ${share.email}?`, "Revoke"))) return;
            await api.call("DELETE", `${basePath(kind, id)}/${encodeURIComponent(share.id)}`);
            announce(`${share.email} no longer has access to “${name}”.`);
            await refresh();
          }, { class: "secondary", "aria-label": `Revoke ${share.email}'s access` }),
        ))));
  }
  return { section, refresh };
}

/** The share dialog: an e-mail address and a permission. */
export function shareDialog(kind, id, name, onShared) {
  return openDialog(kind === "home" ? `Share “${name}”` : `Share plug “${name}”`, (close) =>
    form({ id: "share-form" }, [
      field("share-email", "E-mail address", { name: "email", type: "email", required: true, autocomplete: "off" },
        `${kind === "home" ? "They see every plug in this home." : "They see this plug only."} An address with no GreenNet account yet is invited by mail: the share starts once they sign up and confirm the address.`),
      field("share-permission", "Permission", { name: "permission", type: "select", options: PERMISSIONS }),
    ], "Share", async ({ email, permission }) => {
      await api.call("POST", basePath(kind, id), { email: email.trim(), permission });
      close();
      announce(`“${name}” is now shared with ${email.trim()}.`);
      await onShared?.();
    }),
  );
}
