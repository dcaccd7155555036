// A plug's history chart (power over a day, a week or a month; the API picks the
// resolution) and its energy bars (per day of a month, per month of a year, with cost).

import * as api from "./api.js";
import { barChart, lineChart, resizeCharts } from "./chart.js";
import { choices, el, formatEnergy, formatMoney, messageOf } from "./dom.js";

const DAY_MS = 24 * 3600 * 1000;
export const RANGES = [
  { key: "day", label: "Day", ms: DAY_MS },
  { key: "week", label: "Week", ms: 7 * DAY_MS },
  { key: "month", label: "Month", ms: 30 * DAY_MS },
];

/** Telemetry of one device between two instants (Unix ms): `{resolution, points, …}`. */
export async function fetchHistory(deviceId, from, to, resolution = "auto") {
  const query = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)), resolution });
  return api.call("GET", `/api/v1/devices/${encodeURIComponent(deviceId)}/telemetry?${query}`);
}

/**
 * uPlot columns from a history answer: raw samples give power; rollups give the average
 * with the minimum and maximum as a shaded band.
 */
export function historySeries(answer) {
  const points = answer.points ?? [];
  const times = points.map((point) => point.ts / 1000);
  const power = { label: "Power (W)", values: points.map((point) => point.power ?? null) };
  if (answer.resolution === "raw") return { times, series: [power] };
  power.label = "Average power (W)";
  return {
    times,
    series: [
      power,
      { label: "Minimum (W)", values: points.map((point) => point.power_min ?? null), band: true },
      { label: "Maximum (W)", values: points.map((point) => point.power_max ?? null), band: true },
    ],
  };
}

function historySection(device) {
  const area = el("div", { class: "chart-area", id: "history-chart" });
  const note = el("p", { class: "hint", role: "status" });
  let latest = 0; // a slow answer for an earlier choice must not overwrite a newer one
  async function draw(rangeKey) {
    const range = RANGES.find((one) => one.key === rangeKey);
    const to = Date.now();
    const request = ++latest;
    note.textContent = "Loading…";
    try {
      const answer = await fetchHistory(device.id, to - range.ms, to);
      if (request !== latest) return;
      const { times, series } = historySeries(answer);
      if (times.length === 0) {
        area.chart?.destroy();
        area.chart = null;
        area.replaceChildren(el("p", { class: "empty" }, "No readings in this range."));
      } else {
        await lineChart(area, { title: `Power, last ${range.label.toLowerCase()}`, times, series, unit: "W" });
      }
      Object.assign(area.dataset, { range: rangeKey, resolution: answer.resolution, from: answer.from, to: answer.to });
      note.textContent = answer.resolution ? `Resolution: ${answer.resolution}` : "";
    } catch (err) {
      note.textContent = messageOf(err);
    }
  }
  const csv = el("button", { type: "button", class: "secondary", id: "history-csv", onclick: async () => {
    const { from, to, resolution } = area.dataset;
    if (!from) return;
    const query = new URLSearchParams({ from, to, resolution });
    csv.disabled = true;
    try {
      await api.download(`/api/v1/devices/${encodeURIComponent(device.id)}/telemetry.csv?${query}`,
        `${device.plug_id ?? device.id}-${resolution}.csv`);
    } catch (err) {
      note.textContent = messageOf(err);
    } finally {
      csv.disabled = false;
    }
  } }, "Download as CSV");
  const section = el("section", { class: "card", "aria-labelledby": "history-title" },
    el("h3", { id: "history-title" }, "History"),
    choices("history-range", "Range", RANGES, draw),
    note,
    area,
    el("div", { class: "actions" }, csv));
  return { section, draw: () => draw(RANGES[0].key) };
}

const PERIODS = [
  { key: "day", label: "Per day (30 days)" },
  { key: "month", label: "Per month (12 months)" },
];

/** Energy of one device (or a home: `scope` "homes") per local day or month, with cost. */
export async function fetchEnergy(scope, id, period) {
  const query = new URLSearchParams({ period });
  return api.call("GET", `/api/v1/${scope}/${encodeURIComponent(id)}/energy?${query}`);
}

/** Seconds of local midnight at the start of a period ("2026-11-30" or "2026-11-01"). */
function periodTime(start) {
  const [year, month, day] = start.slice(0, 10).split("-").map(Number);
  return new Date(year, month - 1, day).getTime() / 1000;
}

/** Energy bars of a device (`scope` "devices") or a whole home ("homes"). */
export function energySection(scope, id) {
  const area = el("div", { class: "chart-area", id: "energy-chart" });
  const total = el("p", { class: "total", id: "energy-total", role: "status" });
  let latest = 0;
  async function draw(period) {
    const request = ++latest;
    total.textContent = "Loading…";
    try {
      const report = await fetchEnergy(scope, id, period);
      if (request !== latest) return;
      const periods = report.periods ?? [];
      const labelOf = period === "month"
        ? (t) => new Date(t * 1000).toLocaleDateString(undefined, { year: "numeric", month: "long" })
        : (t) => new Date(t * 1000).toLocaleDateString();
      await barChart(area, {
        title: period === "month" ? "Energy per month" : "Energy per day",
        times: periods.map((item) => periodTime(item.start)),
        values: periods.map((item) => item.energy_kwh),
        unit: "kWh",
        labelOf,
        extra: report.currency ? { label: `Cost (${report.currency})`, values: periods.map((item) => item.cost) } : null,
      });
      area.dataset.period = period;
      total.textContent = `Total ${formatEnergy(report.total_kwh)}`
        + (report.currency ? `, ${formatMoney(report.total_cost, report.currency)}` : ", no tariff set");
    } catch (err) {
      total.textContent = messageOf(err);
    }
  }
  const section = el("section", { class: "card", "aria-labelledby": "energy-title" },
    el("h3", { id: "energy-title" }, "Energy"),
    choices("energy-period", "Bars", PERIODS, draw),
    total,
    area);
  return { section, draw: () => draw(PERIODS[0].key) };
}

/** The plug page's history and energy sections, and what to do when the page is left. */
export function historySections(device) {
  const history = historySection(device);
  const energy = energySection("devices", device.id);
  const onResize = () => resizeCharts(document);
  addEventListener("resize", onResize);
  history.draw();
  energy.draw();
  return {
    sections: [history.section, energy.section],
    leave: () => removeEventListener("resize", onResize),
  };
}
