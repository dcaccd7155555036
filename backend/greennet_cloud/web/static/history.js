// A plug's history chart (power over a day, a week or a month; the API picks the
// resolution) and its energy bars (per day of a month, per month of a year, with cost).

import * as api from "./api.js";
import { lineChart, resizeCharts } from "./chart.js";
import { el, messageOf } from "./dom.js";

const DAY_MS = 24 * 3600 * 1000;
export const RANGES = [
  { key: "day", label: "Day", ms: DAY_MS },
  { key: "week", label: "Week", ms: 7 * DAY_MS },
  { key: "month", label: "Month", ms: 30 * DAY_MS },
];

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

/** Telemetry of one plug between two instants: `{resolution, samples}`. */
export async function fetchHistory(deviceId, from, to, resolution = "auto") {
  const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), resolution });
  return api.call("GET", `/api/v1/devices/${encodeURIComponent(deviceId)}/telemetry?${query}`);
}

/** uPlot columns from a history answer: raw samples give power; rollups give avg and range. */
export function historySeries(answer) {
  const samples = answer.samples ?? [];
  const times = samples.map((sample) => sample.ts / 1000);
  const rolled = samples.some((sample) => "power_avg" in sample);
  if (!rolled) return { times, series: [{ label: "Power (W)", values: samples.map((s) => s.power ?? null) }] };
  return {
    times,
    series: [
      { label: "Average (W)", values: samples.map((s) => s.power_avg ?? null) },
      { label: "Minimum (W)", values: samples.map((s) => s.power_min ?? null) },
      { label: "Maximum (W)", values: samples.map((s) => s.power_max ?? null) },
    ],
  };
}

function historySection(device) {
  const area = el("div", { class: "chart-area", id: "history-chart" });
  const note = el("p", { class: "hint", role: "status" });
  async function draw(rangeKey) {
    const range = RANGES.find((one) => one.key === rangeKey);
    const to = Date.now();
    note.textContent = "Loading…";
    try {
      const answer = await fetchHistory(device.id, to - range.ms, to);
      const { times, series } = historySeries(answer);
      if (times.length === 0) {
        area.chart?.destroy();
        area.chart = null;
        area.replaceChildren(el("p", { class: "empty" }, "No readings in this range."));
      } else {
        await lineChart(area, { title: `Power, last ${range.label.toLowerCase()}`, times, series, unit: "W" });
      }
      area.dataset.range = rangeKey;
      area.dataset.resolution = answer.resolution ?? "";
      note.textContent = answer.resolution ? `Resolution: ${answer.resolution}` : "";
    } catch (err) {
      note.textContent = messageOf(err);
    }
  }
  const section = el("section", { class: "card", "aria-labelledby": "history-title" },
    el("h3", { id: "history-title" }, "History"),
    choices("history-range", "Range", RANGES, draw),
    note,
    area);
  return { section, draw: () => draw(RANGES[0].key) };
}

/** The plug page's history and energy sections, and what to do when the page is left. */
export function historySections(device) {
  const history = historySection(device);
  const onResize = () => resizeCharts(document);
  addEventListener("resize", onResize);
  history.draw();
  return {
    sections: [history.section],
    leave: () => removeEventListener("resize", onResize),
  };
}
