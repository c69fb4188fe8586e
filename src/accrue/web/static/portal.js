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

// The claim form's products: only those the chosen agreement covers, narrowed to what the
// partner types (SKU or name); the first one left is chosen when the choice was filtered out.
function productFilter() {
  const search = document.getElementById("sku-search");
  const agreement = document.getElementById("agreement_id");
  const select = document.getElementById("sku");
  const count = document.getElementById("sku-count");
  if (!search || !agreement || !select) return;
  const narrow = () => {
    const words = search.value.trim().toLowerCase();
    let shown = 0;
    for (const option of select.options) {
      const covered = option.dataset.agreements.split(" ").includes(agreement.value);
      option.hidden = !(covered && option.text.toLowerCase().includes(words));
      option.disabled = option.hidden;
      shown += option.hidden ? 0 : 1;
    }
    if (select.selectedOptions.length === 0 || select.selectedOptions[0].hidden) {
      const first = [...select.options].find((o) => !o.hidden);
      select.value = first ? first.value : "";
    }
    count.textContent = shown === 1 ? "1 product" : `${shown} products`;
  };
  search.addEventListener("input", narrow);
  agreement.addEventListener("change", narrow);
  narrow();
}

document.addEventListener("DOMContentLoaded", () => {
  productFilter();
  document.querySelectorAll("canvas.history").forEach(history);
  const carried = document.getElementById("charts");
  if (carried) analytics(JSON.parse(carried.textContent));
});
