// modelward dashboard: draws each <figure data-chart="ID"> from the JSON block #ID with uPlot.
// The data: {"x": [epoch seconds], "series": [{"label", "values"}], "title"?, "unit"?,
// "thresholds"?: {label: value}, "steps"?: bool, "time"?: false (a plain x axis),
// "bands"?: {series label: [low series label, high series label]} (an interval drawn as a
// shaded band around its series), "bars"?: true (side-by-side bars, e.g. histograms),
// "labels"?: [x tick label per x value] (categories at x = 0, 1, ...)}.
// No other script runs on the pages.
"use strict";
(function () {
  const COLORS = ["#0b5cad", "#b3261e", "#1b7a3a", "#8a5a00", "#6b4fa0", "#00838f", "#5b6570"];

  function faded(color, alpha) {
    return color + alpha;  // #rrggbb + 2 hex digits of opacity
  }

  function pathsFor(data, i, count) {
    if (data.bars) {
      const align = count < 2 ? 0 : (i === 0 ? -1 : 1);
      return uPlot.paths.bars({ size: [count < 2 ? 0.8 : 0.42, 60], align: align });
    }
    return data.steps ? uPlot.paths.stepped({ align: 1 }) : undefined;
  }

  function bandSeries(data, series, columns, bandOptions) {
    // the low and high series of each band: thin, faded, and the area between them filled
    const index = {};
    series.forEach(function (s, i) { if (i > 0) index[s.label] = i; });
    Object.entries(data.bands || {}).forEach(function (entry) {
      const main = index[entry[0]], low = index[entry[1][0]], high = index[entry[1][1]];
      if (!main || !low || !high) return;
      const color = series[main].stroke;
      [low, high].forEach(function (i) {
        series[i].stroke = faded(color, "66");
        series[i].width = 1;
        series[i].points = { show: columns[0].length < 60, size: 3 };
      });
      bandOptions.push({ series: [high, low], fill: faded(color, "1f") });
    });
  }

  function xAxis(data, x) {
    if (!data.labels) return {};
    const labels = data.labels;
    return {
      splits: function () { return x.slice(); },
      values: function (u, splits) {
        return splits.map(function (v) { return labels[v] === undefined ? "" : String(labels[v]); });
      },
    };
  }

  function xRange(data, x) {
    if (!data.bars || x.length === 0) return undefined;
    const step = x.length > 1 ? (x[x.length - 1] - x[0]) / (x.length - 1) : 1;
    return [x[0] - step / 2, x[x.length - 1] + step / 2];
  }

  function lonePoint(data) {
    // one point in time: an hour of room either side (empty), so the axis reads as a time
    // and the thresholds as lines
    if (data.bars || data.time === false || !data.x || data.x.length !== 1) return data;
    const t = data.x[0];
    data.x = [t - 3600, t, t + 3600];
    (data.series || []).forEach(function (s) { s.values = [null, s.values[0], null]; });
    return data;
  }

  function draw(figure) {
    const block = document.getElementById(figure.dataset.chart);
    if (!block) return;
    const data = lonePoint(JSON.parse(block.textContent));
    const x = data.x || [];
    const columns = [x];
    const series = [{}];
    const given = data.series || [];
    given.forEach(function (s, i) {
      const color = COLORS[i % COLORS.length];
      columns.push(s.values);
      series.push({ label: s.label, stroke: color, width: data.bars ? 1 : 2, spanGaps: false,
                    fill: data.bars ? faded(color, "99") : undefined,
                    paths: pathsFor(data, i, given.length),
                    points: { show: !data.bars && x.length < 60 } });
    });
    const bands = [];
    bandSeries(data, series, columns, bands);
    Object.entries(data.thresholds || {}).forEach(function (entry) {
      columns.push(x.map(function () { return entry[1]; }));
      series.push({ label: entry[0], stroke: "#888", dash: [6, 4], width: 1, points: { show: false } });
    });
    // the container's width (a card of a grid may be narrower than a phone's screen)
    const room = figure.clientWidth || figure.parentElement.clientWidth;
    const width = Math.max(200, Math.min(room, 1100));
    const range = xRange(data, x);
    const options = {
      title: data.title || "", width: width, height: 220, series: series, bands: bands,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      scales: { x: range ? { time: false, range: range } : { time: data.time !== false && !data.bars } },
      axes: [xAxis(data, x), { label: data.unit || "" }],
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
