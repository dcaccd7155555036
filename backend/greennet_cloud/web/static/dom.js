// DOM building blocks shared by every view. API text only ever becomes text nodes (append /
// textContent), never HTML, so a name like "<img onerror=…>" shows as those characters.

import { ApiError } from "./api.js";

/**
 * An element. Attributes are set as attributes, except functions under `on<event>` names,
 * which become event listeners (never inline handlers: the CSP forbids them). String
 * children become text nodes; null and undefined children are skipped.
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function" && name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes. */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

export const $ = (id) => document.getElementById(id);

/** The text to show for a failure: the API's own message, or a generic one. */
export function messageOf(err) {
  if (err instanceof ApiError) return err.message;
  console.error(err); // a bug, not an API answer: keep the details for the developer
  return "Something went wrong. Try again.";
}

/** Say `text` in the page's polite status line (read out by screen readers). */
export function announce(text) {
  $("status").textContent = text;
}

/** A label, a field and a hint, wired together for assistive technology. */
export function field(id, label, attributes = {}, hint = null) {
  const hintId = hint ? `${id}-hint` : null;
  const input =
    attributes.type === "select"
      ? el("select", { id, name: id, ...without(attributes, "type", "options") },
          ...attributes.options.map(([value, text]) => el("option", { value }, text)))
      : el("input", { id, name: id, type: "text", ...attributes, "aria-describedby": hintId });
  return el("div", { class: "field" },
    el("label", { for: id }, label),
    hint ? el("p", { class: "hint", id: hintId }, hint) : null,
    input);
}

function without(object, ...keys) {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}

/**
 * A form whose submit runs `action(values)`: the submit button is disabled while it runs, a
 * failure shows the API's message in the form's own alert line, and the form stays filled.
 */
export function form(attributes, children, submitText, action) {
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit" }, submitText);
  const node = el("form", attributes, error, ...children, el("div", { class: "actions" }, submit));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    node.setAttribute("aria-busy", "true");
    try {
      await action(Object.fromEntries(new FormData(node)), node);
    } catch (err) {
      error.textContent = messageOf(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
      node.removeAttribute("aria-busy");
    }
  });
  return node;
}

/** Radio buttons as a labelled group (arrow keys move between them, as native radios do). */
export function choices(name, legend, options, onChange) {
  const group = el("fieldset", { class: "choices" }, el("legend", {}, legend));
  options.forEach(({ key, label }, index) => {
    const id = `${name}-${key}`;
    const input = el("input", { type: "radio", name, id, value: key, checked: index === 0 });
    input.addEventListener("change", () => input.checked && onChange(key));
    group.append(el("span", { class: "choice" }, input, el("label", { for: id }, label)));
  });
  return group;
}

/** A button that runs `action`, disabled while it does; a failure is announced as an error. */
export function actionButton(text, action, attributes = {}) {
  const button = el("button", { type: "button", ...attributes }, text);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action(button);
    } catch (err) {
      showError(messageOf(err));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** The page-wide error line. */
export function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

export function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

/**
 * A modal dialog (native <dialog>: focus moves in, Escape closes, focus returns to the
 * opener). `build(close)` returns the dialog's content; resolves when it closes.
 */
export function openDialog(title, build) {
  const opener = document.activeElement;
  const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
  const dialog = el("dialog", { "aria-labelledby": titleId, class: "dialog" });
  const close = () => dialog.close();
  dialog.append(
    el("div", { class: "dialog-head" },
      el("h2", { id: titleId }, title),
      el("button", { type: "button", class: "secondary", "aria-label": "Close", onclick: close }, "Close")),
    build(close),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(dialog.returnValue);
    });
    dialog.showModal();
    const first = dialog.querySelector("input, select, textarea");
    if (first) first.focus();
  });
}

/** Ask before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(title, text, confirmText) {
  let confirmed = false;
  return openDialog(title, (close) => {
    const yes = el("button", { type: "button", class: "danger", onclick: () => { confirmed = true; close(); } }, confirmText);
    const no = el("button", { type: "button", class: "secondary", onclick: close }, "Cancel");
    queueMicrotask(() => no.focus());
    return el("div", {}, el("p", {}, text), el("div", { class: "actions" }, yes, no));
  }).then(() => confirmed);
}

/** Copy `text` to the clipboard; falls back to selecting it in `source` for a manual copy. */
export async function copyText(text, source) {
  try {
    await navigator.clipboard.writeText(text);
    announce("Copied to the clipboard.");
  } catch {
    if (source) {
      const range = document.createRange();
      range.selectNodeContents(source);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    }
    announce("Copying is not allowed here: the text is selected, copy it by hand.");
  }
}

/** A plug's protocol id (greennet-xxxxxx); the device id where the API has no separate one. */
export function plugIdOf(device) {
  return device.plug_id ?? device.id;
}

/** What to call a plug: its name, else its plug id. */
export function plugName(device) {
  return device.name || plugIdOf(device);
}

// --- formatting --------------------------------------------------------------------------

const number = (digits) => new Intl.NumberFormat(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
const WATTS = number(1);
const KWH = number(3);

export function formatPower(watts) {
  return watts === null || watts === undefined ? "—" : `${WATTS.format(watts)} W`;
}

export function formatEnergy(kwh) {
  return kwh === null || kwh === undefined ? "—" : `${KWH.format(kwh)} kWh`;
}

export function formatMoney(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
  } catch {
    return `${number(2).format(amount)} ${currency}`;
  }
}

/** A <time> element for an ISO timestamp, or `fallback` when there is none. */
export function timeOf(iso, fallback = "never") {
  if (!iso) return fallback;
  return el("time", { datetime: iso }, new Date(iso).toLocaleString());
}
