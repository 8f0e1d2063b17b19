/* Dashboard charts (Chart.js) and the commune map coloured by on-time rate, with overdue reports. */
(function () {
  "use strict";
  var BLUE = "#0b5cad", RED = "#c62828", GREEN = "#2e7d32", AMBER = "#f9a825", GREY = "#9aa5b1";
  // on-time rate → colour: the scoreboard's thresholds (≥ 95 good, 80–95 watch, < 80 poor)
  var STEPS = [[95, "#1a9850"], [90, "#91cf60"], [80, "#fee08b"], [60, "#fc8d59"], [0, "#d73027"]];

  function rateColour(rate) {
    if (rate == null) return "#e5e7eb";
    for (var i = 0; i < STEPS.length; i++) if (rate >= STEPS[i][0]) return STEPS[i][1];
    return STEPS[STEPS.length - 1][1];
  }

  function base() {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false;  // instant, and screenshots never catch a half-drawn chart
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.datasets.bar.maxBarThickness = 36;
  }

  function trendChart(d) {
    new Chart(document.getElementById("chart-trend"), {
      data: {
        labels: d.trend.map(function (s) { return s.label; }),
        datasets: [
          { type: "bar", label: FR.t("reports"), data: d.trend.map(function (s) { return s.reports; }),
            backgroundColor: "rgba(11,92,173,.25)", yAxisID: "n" },
          { type: "line", label: FR.t("on_time_rate") + " (%)", data: d.trend.map(function (s) { return s.on_time_rate; }),
            borderColor: GREEN, backgroundColor: GREEN, yAxisID: "pct", spanGaps: true, tension: .2 },
          { type: "line", label: FR.t("satisfaction") + " (%)", data: d.trend.map(function (s) { return s.satisfaction; }),
            borderColor: AMBER, backgroundColor: AMBER, yAxisID: "pct", spanGaps: true, tension: .2 }
        ]
      },
      options: { scales: { pct: { position: "right", min: 0, max: 100 }, n: { position: "left", beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function overdueChart(d) {
    var labels = Object.keys(d.overdue_bands);
    new Chart(document.getElementById("chart-overdue"), {
      type: "bar",
      data: { labels: labels, datasets: [{ label: FR.t("overdue_backlog"), data: labels.map(function (k) { return d.overdue_bands[k]; }),
        backgroundColor: [AMBER, "#fb8c00", "#e64a19", RED, "#7f0000"] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function handlingChart(d) {
    // Median and "90% done within" of the slowest units, every bar named (the unit's name).
    var rows = d.handling_units;
    if (!rows.length) rows = [{ name: FR.t("total"), median: d.handling.working_hours.median, p90: d.handling.working_hours.p90 }];
    new Chart(document.getElementById("chart-handling"), {
      type: "bar",
      data: { labels: rows.map(function (r) { return r.name; }), datasets: [
        { label: FR.t("median"), data: rows.map(function (r) { return r.median; }), backgroundColor: BLUE },
        { label: FR.t("p90"), data: rows.map(function (r) { return r.p90; }), backgroundColor: GREY }] },
      options: { indexAxis: "y", scales: {
        x: { beginAtZero: true, title: { display: true, text: FR.t("hours") } },
        y: { ticks: { autoSkip: false, font: { size: 11 },
          callback: function (v) { var s = this.getLabelForValue(v); return s.length > 34 ? s.slice(0, 33) + "…" : s; } } } } }
    });
  }

  // Dates mean a custom period: the menu follows them, and leaving "custom" clears them.
  function periodForm() {
    var period = document.getElementById("d-period"), from = document.getElementById("d-from"),
        to = document.getElementById("d-to");
    if (!period || !from || !to) return;
    function dated() { if (from.value || to.value) period.value = "custom"; }
    from.addEventListener("change", dated);
    to.addEventListener("change", dated);
    period.addEventListener("change", function () {
      if (period.value !== "custom") { from.value = ""; to.value = ""; }
    });
  }

  function ratingsChart(d) {
    var keys = ["1", "2", "3", "4", "5"];
    new Chart(document.getElementById("chart-ratings"), {
      type: "bar",
      data: { labels: keys.map(function (k) { return k + "★"; }), datasets: [{ label: FR.t("ratings"),
        data: keys.map(function (k) { return d.ratings[k] || 0; }),
        backgroundColor: [RED, "#fb8c00", AMBER, "#7cb342", GREEN] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function map(d, detailUrl) {
    var m = FRMap.create("dash-map", { center: [12.75, 108.6], zoom: 8, canvas: true, zoomSnap: 0.25 });
    FRMap.addCommunes(m, function (f) {
      var a = d.areas[f.properties.code];
      return { fillColor: rateColour(a ? a.rate : null), fillOpacity: .75, color: "#555", weight: .6 };
    }, function (f, layer) {
      var a = d.areas[f.properties.code];
      layer.bindPopup("<strong>" + FR.esc(f.properties.full_name) + "</strong><br>" + FR.esc(FR.t("on_time_rate")) + ": " +
        (a && a.rate != null ? a.rate + "%" : FR.t("na")) + "<br>" + FR.esc(FR.t("reports")) + ": " + (a ? a.reports : 0) +
        " · " + FR.esc(FR.t("backlog")) + ": " + (a ? a.backlog : 0));
    }).then(function (layer) {
      m.fitBounds(layer.getBounds(), { padding: [8, 8] });
      var overdue = L.layerGroup(d.overdue.map(function (p) {
        return L.circleMarker([p.lat, p.lon], { radius: 5, color: "#fff", weight: 1, fillColor: RED, fillOpacity: .95 })
          .bindPopup('<a href="' + detailUrl.replace("CODE", encodeURIComponent(p.code)) + '">' + FR.esc(p.code) + "</a><br>" +
            FR.esc(p.category) + " · " + FR.esc(p.unit || "") + "<br>" + FR.esc(FR.t("due")) + ": " + FR.esc(FR.fmtDateTime(p.due_at)));
      })).addTo(m);
      var overlays = {};
      overlays[FR.t("overdue_layer") + " (" + d.overdue.length + ")"] = overdue;
      L.control.layers(null, overlays, { collapsed: false }).addTo(m);
      legend(m);
    });
  }

  function legend(m) {
    var ctl = L.control({ position: "bottomright" });
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      div.innerHTML = "<strong>" + FR.esc(FR.t("on_time_rate")) + "</strong><br>" + STEPS.map(function (s, i) {
        var hi = i === 0 ? "100" : STEPS[i - 1][0];
        return '<i style="background:' + s[1] + '"></i>' + s[0] + "–" + hi + "%";
      }).join("<br>") + '<br><i style="background:#e5e7eb"></i>' + FR.esc(FR.t("na")) +
        '<br><i style="background:' + RED + ';border-radius:50%;width:10px"></i>' + FR.esc(FR.t("overdue_layer"));
      return div;
    };
    ctl.addTo(m);
  }

  function init(d, detailUrl) {
    base();
    trendChart(d);
    overdueChart(d);
    handlingChart(d);
    ratingsChart(d);
    map(d, detailUrl);
    window.FRDashboardData = d;
  }

  window.FRDashboard = { init: init, rateColour: rateColour };
  document.addEventListener("DOMContentLoaded", periodForm);
})();
