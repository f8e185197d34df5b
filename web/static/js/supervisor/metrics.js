// The metrics panel: asks for a period's hourly figures, draws them with Chart.js (loaded as a classic
// script), mirrors them in a table, and points the CSV link at exactly the same period.
import { plural, weekdayAndClock } from "../common.js";
import { duration, el } from "./format.js";

const $ = (id) => document.getElementById(id);
const minutes = (seconds) => (seconds === null ? null : Math.round((seconds / 60) * 10) / 10);

const hourLabel = weekdayAndClock;

// datetime-local inputs hold local wall time; the server takes ISO times with a zone.
function toIso(value) {
  return value ? new Date(value).toISOString() : "";
}

function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:00`;
}

export class Metrics {
  constructor(onError) {
    this.onError = onError;
    this.charts = {};
    this.data = null;
    const now = new Date();
    now.setMinutes(0, 0, 0);
    now.setHours(now.getHours() + 1);
    $("period-to").value = toLocalInput(now);
    $("period-from").value = toLocalInput(new Date(now.getTime() - 24 * 3600_000));
    $("period-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
  }

  query() {
    const params = new URLSearchParams();
    const from = toIso($("period-from").value);
    const to = toIso($("period-to").value);
    if (from) params.set("from", from);
    if (to) params.set("to", to);
    return params.toString();
  }

  async load() {
    const query = this.query();
    $("csv-link").href = `/supervisor/metrics.csv?${query}`;
    let reply;
    try {
      const response = await fetch(`/supervisor/metrics.json?${query}`, { headers: { Accept: "application/json" } });
      reply = await response.json();
    } catch {
      reply = { ok: false, error: { message: "Couldn't load the metrics. Please try again." } };
    }
    if (!reply.ok) {
      this.onError(reply.error);
      return;
    }
    this.data = reply;
    this.draw();
  }

  draw() {
    const hours = this.data.hours;
    const labels = hours.map((h) => hourLabel(h.hour_start));
    const t = this.data.totals;
    const fmt = (s) => (s === null ? "–" : duration(s));
    $("metrics-summary").textContent =
      `${plural(t.reached, "child", "children")} reached a counsellor (median wait ${fmt(t.wait_median_seconds)}, ` +
      `90th percentile ${fmt(t.wait_p90_seconds)}) · ${plural(t.handled, "chat")} handled (average ` +
      `${fmt(t.handling_avg_seconds)}) · ${t.left_unserved} left before being served · ` +
      `${plural(t.reports_opened, "report")} opened`;
    this.chart("chart-wait", "line", labels, [
      { label: "Median", data: hours.map((h) => minutes(h.wait_median_seconds)), borderColor: "#2d5bd1", backgroundColor: "#2d5bd1" },
      { label: "90th percentile", data: hours.map((h) => minutes(h.wait_p90_seconds)), borderColor: "#b3261e", backgroundColor: "#b3261e" },
    ]);
    this.chart("chart-volume", "bar", labels, [
      { label: "Chats handled", data: hours.map((h) => h.handled), backgroundColor: "#2d5bd1" },
      { label: "Left before being served", data: hours.map((h) => h.left_unserved), backgroundColor: "#f2a900" },
      { label: "Reports opened", data: hours.map((h) => h.reports_opened), backgroundColor: "#1b7f4c" },
    ]);
    this.chart("chart-handling", "line", labels, [
      { label: "Average handling time", data: hours.map((h) => minutes(h.handling_avg_seconds)), borderColor: "#6b3fa0", backgroundColor: "#6b3fa0" },
    ]);
    const rows = $("metrics-rows");
    rows.replaceChildren();
    for (const h of hours) {
      const tr = el("tr");
      const cell = (v) => el("td", v === null ? "–" : v);
      tr.append(el("td", hourLabel(h.hour_start)), cell(h.reached), cell(h.wait_median_seconds), cell(h.wait_p90_seconds),
        cell(h.handled), cell(h.left_unserved), cell(h.handling_avg_seconds), cell(h.reports_opened));
      rows.append(tr);
    }
  }

  chart(id, type, labels, datasets) {
    if (!window.Chart) {
      this.onError({ message: "Charts are not available (the charting library did not load). The table below has the figures." });
      return;
    }
    const existing = this.charts[id];
    if (existing) {
      existing.data.labels = labels;
      existing.data.datasets = datasets;
      existing.update();
      return;
    }
    this.charts[id] = new window.Chart($(id), {
      type,
      data: { labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: true,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
}
