// Two-factor enrolment: the otpauth:// URI as a QR code (qrcode-generator, vendored, MIT),
// drawn as SVG through the DOM (the library's own SVG and HTML strings would need an HTML
// sink), plus the secret as text for typing in by hand.

import { el, svg } from "./dom.js";

const QUIET_ZONE = 4; // modules of white border the QR specification asks for

/** An SVG QR code of `text` (error correction M). */
export async function qrCode(text, label) {
  const { default: qrcode } = await import("./vendor/qrcode-generator.mjs");
  const code = qrcode(0, "M"); // 0: the smallest version that holds the text
  code.addData(text, "Byte");
  code.make();
  const count = code.getModuleCount();
  const size = count + 2 * QUIET_ZONE;
  const parts = [];
  for (let row = 0; row < count; row += 1) {
    for (let column = 0; column < count; column += 1) {
      if (code.isDark(row, column)) parts.push(`M${column + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  return svg("svg", {
    class: "qr",
    viewBox: `0 0 ${size} ${size}`,
    role: "img",
    "aria-label": label,
    "shape-rendering": "crispEdges",
    "data-modules": String(count),
  },
  svg("rect", { width: String(size), height: String(size), fill: "#ffffff" }),
  svg("path", { d: parts.join(""), fill: "#000000" }));
}

/** The secret in groups of four, easier to type into an authenticator by hand. */
export function groupedSecret(secret) {
  return el("code", { class: "secret", id: "totp-secret" }, secret.replace(/(.{4})(?=.)/g, "$1 "));
}
