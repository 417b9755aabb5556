// modelward dashboard: draws each <figure data-chart="ID"> from the JSON block #ID with uPlot.
// The data: {"x": [epoch seconds], "series": [{"label", "values"}], "title"?, "unit"?,
// "thresholds"?: {label: value}, "steps"?: bool}. No other script runs on the pages.
"use strict";
(function () {
  const COLORS = ["#0b5cad", "#b3261e", "#1b7a3a", "#8a5a00", "#6b4fa0", "#00838f", "#5b6570"];

  function draw(figure) {
    const block = document.getElementById(figure.dataset.chart);
    if (!block) return;
    const data = JSON.parse(block.textContent);
    const x = data.x || [];
    const columns = [x];
    const series = [{}];
    (data.series || []).forEach(function (s, i) {
      columns.push(s.values);
      series.push({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false,
                    paths: data.steps ? uPlot.paths.stepped({ align: 1 }) : undefined,
                    points: { show: x.length < 60 } });
    });
    Object.entries(data.thresholds || {}).forEach(function (entry, i) {
      columns.push(x.map(function () { return entry[1]; }));
      series.push({ label: entry[0], stroke: "#888", dash: [6, 4], width: 1, points: { show: false } });
    });
    const width = Math.max(280, Math.min(figure.parentElement.clientWidth, 1100));
    const options = {
      title: data.title || "", width: width, height: 220, series: series,
      scales: { x: { time: data.time !== false } },
      axes: [{}, { label: data.unit || "" }],
    };
    figure.textContent = "";
    new uPlot(options, columns, figure);
    figure.dataset.drawn = "true";
  }

  function drawAll() {
    document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
      try { draw(figure); } catch (err) { figure.textContent = "chart unavailable"; throw err; }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
