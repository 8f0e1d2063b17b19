/* Public map: clusters computed by the server for the view and the page's filters; a report's own map. */
(function () {
  "use strict";
  function clusterIcon(n) {
    var size = n < 10 ? 30 : n < 100 ? 38 : n < 1000 ? 46 : 54;
    return L.divIcon({ className: "cluster-icon", html: "<span>" + FR.esc(n) + "</span>", iconSize: [size, size] });
  }

  function reportsMap(el) {
    var map = FRMap.create(el, { zoom: 9, center: [12.71, 108.24] });
    FRMap.addCommunes(map);
    var layer = L.layerGroup().addTo(map);
    var base = el.dataset.clusters, reportUrl = el.dataset.report, seq = 0;
    function load() {
      var b = map.getBounds(), mine = ++seq;
      var url = base + (base.indexOf("?") < 0 ? "?" : "&") + "zoom=" + map.getZoom() + "&bbox=" +
        [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (gj) {
        if (mine !== seq) return;  // a newer view already asked
        layer.clearLayers();
        gj.features.forEach(function (f) {
          var c = f.geometry.coordinates, p = f.properties, ll = [c[1], c[0]];
          if (p.code) {
            L.marker(ll, { title: p.code, alt: p.code }).on("click", function () {
              window.location.href = reportUrl.replace("CODE", p.code);
            }).addTo(layer);
          } else {
            L.marker(ll, { icon: clusterIcon(p.count), title: String(p.count), alt: String(p.count) })
              .on("click", function () { map.setView(ll, Math.min(map.getZoom() + 2, 18)); }).addTo(layer);
          }
        });
      });
    }
    map.on("moveend", load);
    load();
  }

  function reportMap(el) {
    var ll = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = FRMap.create(el, { center: ll, zoom: 15 });
    FRMap.addCommunes(map);
    L.marker(ll).addTo(map);
  }

  var big = document.getElementById("public-map"), small = document.getElementById("report-map");
  if (big) reportsMap(big);
  if (small) reportMap(small);
})();
