/* The portal's charts. Their data comes as JSON in the page (`canvas.history[data-history]`,
   `<script type="application/json" id="charts">`), never as script, so the
   Content-Security-Policy can refuse every inline script and a partner's text stays text. */
"use strict";

// sized to their card (never wider than the screen), half as high as wide
const options = { animation: false, responsive: true, maintainAspectRatio: true, aspectRatio: 2 };

function history(canvas) {
  const rows = JSON.parse(canvas.dataset.history);
  new Chart(canvas, {
    type: "bar",
    data: { labels: rows.map((r) => r[0]), datasets: [{ label: "Earned", data: rows.map((r) => Number(r[1])), backgroundColor: "#0b5cad" }] },
    options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
}

function calibration(canvas, c) {
  const labels = Object.keys(c.percentiles).map((p) => "p" + p);
  const datasets = [{ type: "bar", label: "measure at percentile", data: Object.values(c.percentiles), backgroundColor: "#0b5cad" }];
  c.thresholds.forEach(([lift, value], i) => datasets.push({ type: "line", label: "threshold " + lift, data: labels.map(() => value), borderColor: ["#1a7f37", "#9a6700", "#cf222e"][i % 3], pointRadius: 0 }));
  new Chart(canvas, { type: "bar", data: { labels, datasets }, options });
}

function analytics(charts) {
  document.querySelectorAll("canvas.calibration").forEach((canvas) => calibration(canvas, charts.calibration[Number(canvas.dataset.index)]));
  if (charts.simulation) {
    new Chart(document.getElementById("simulation"), { type: "bar", data: { labels: charts.simulation.segments,
      datasets: charts.simulation.drafts.map((d, i) => ({ label: d.name, data: d.costs, backgroundColor: ["#0b5cad", "#9a6700"][i % 2] })) }, options });
  }
  if (charts.lift && charts.lift.length) {
    new Chart(document.getElementById("lift"), { type: "bar", data: { labels: charts.lift.map((e) => e.metric),
      datasets: [{ label: "95% interval", data: charts.lift.map((e) => e.interval), backgroundColor: "#9ecbff" },
                 { type: "line", label: "estimate", data: charts.lift.map((e) => e.estimate), borderColor: "#0b5cad", showLine: false, pointRadius: 6 }] },
      options });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("canvas.history").forEach(history);
  const carried = document.getElementById("charts");
  if (carried) analytics(JSON.parse(carried.textContent));
});
