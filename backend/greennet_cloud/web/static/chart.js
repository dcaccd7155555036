// History chart and energy bars, drawn with uPlot (vendored, MIT). uPlot and its stylesheet
// load on first use, so pages without a chart never fetch them.
//
// Every chart also gets its data as a table (in a <details>), the text alternative a canvas
// needs, and keeps the uPlot instance on its container (`.chart`) so tests can compare
// what is drawn with what the API answered.

import { el } from "./dom.js";

let uPlotLoading = null;

/** uPlot's constructor, loading the library and its CSS once. */
export function loadUPlot() {
  uPlotLoading ??= (async () => {
    const sheet = el("link", { rel: "stylesheet", href: "vendor/uPlot.min.css" });
    const styled = new Promise((resolve) => {
      sheet.addEventListener("load", resolve, { once: true });
      sheet.addEventListener("error", resolve, { once: true });
    });
    document.head.append(sheet);
    const [module] = await Promise.all([import("./vendor/uPlot.esm.js"), styled]);
    return module.default;
  })();
  return uPlotLoading;
}

const GREEN = "#1b7f3b";
const LIGHT = "rgba(27, 127, 59, 0.18)";

function widthOf(container) {
  return Math.max(240, Math.floor(container.getBoundingClientRect().width || 320));
}

/**
 * Draw a line chart into `container` (emptied first). `times` are Unix seconds; each series
 * is `{label, values}`; series marked `band` (a minimum and a maximum) shade the range
 * between them instead of drawing a line.
 */
export async function lineChart(container, { title, times, series, unit }) {
  const uPlot = await loadUPlot();
  container.chart?.destroy();
  container.replaceChildren();
  const plotArea = el("div", { class: "plot", role: "img", "aria-label": `${title}: ${times.length} points` });
  container.append(plotArea, dataTable(title, times, series, (t) => new Date(t * 1000).toLocaleString()));
  const banded = series.map((one, index) => (one.band ? index + 1 : null)).filter((index) => index !== null);
  const chart = new uPlot({
    width: widthOf(container),
    height: 220,
    scales: { x: { time: true } },
    axes: [{}, { values: (_u, ticks) => ticks.map((v) => `${v} ${unit}`), size: 64 }],
    series: [
      {},
      ...series.map((one) => ({
        label: one.label,
        stroke: one.band ? LIGHT : GREEN,
        width: one.band ? 1 : 2,
        points: { show: !one.band && times.length < 60 },
      })),
    ],
    bands: banded.length === 2 ? [{ series: [banded[1], banded[0]], fill: LIGHT }] : [],
    legend: { live: false },
  }, [times, ...series.map((one) => one.values)], plotArea);
  container.chart = chart;
  return chart;
}

/** Draw a bar chart (energy per day or month) into `container`. */
export async function barChart(container, { title, times, values, unit, labelOf, extra = null }) {
  const uPlot = await loadUPlot();
  container.chart?.destroy();
  container.replaceChildren();
  const plotArea = el("div", { class: "plot", role: "img", "aria-label": `${title}: ${times.length} bars` });
  const columns = [{ label: unit, values }, ...(extra ? [extra] : [])]; // extra: e.g. cost, in the table only
  container.append(plotArea, dataTable(title, times, columns, labelOf));
  const bars = uPlot.paths.bars({ size: [0.7, 48] });
  const chart = new uPlot({
    width: widthOf(container),
    height: 200,
    scales: { x: { time: true } },
    axes: [{}, { values: (_u, ticks) => ticks.map((v) => `${v} ${unit}`), size: 72 }],
    series: [{}, { label: unit, stroke: GREEN, fill: GREEN, paths: bars, points: { show: false } }],
    legend: { live: false },
  }, [times, values], plotArea);
  container.chart = chart;
  return chart;
}

function dataTable(title, times, series, labelOf) {
  const rows = times.map((time, i) =>
    el("tr", {}, el("th", { scope: "row" }, labelOf(time)), ...series.map((one) => el("td", {}, format(one.values[i])))));
  return el("details", { class: "data-table" },
    el("summary", {}, `${title} as a table`),
    el("div", { class: "scroll" },
      el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Time"), ...series.map((one) => el("th", { scope: "col" }, one.label)))),
        el("tbody", {}, ...rows))));
}

function format(value) {
  return value === null || value === undefined ? "—" : String(Math.round(value * 1000) / 1000);
}

/** Fit charts to their container when the window changes size. */
export function resizeCharts(root) {
  for (const container of root.querySelectorAll(".chart-area")) {
    container.chart?.setSize({ width: widthOf(container), height: container.chart.height });
  }
}
