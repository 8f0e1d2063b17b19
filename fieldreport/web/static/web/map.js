/* Leaflet maps over our own commune polygons (no tile server needed; tiles when configured). */
(function () {
  "use strict";
  var communes = null;  // one download per page
  var BASE_STYLE = { color: "#8795a8", weight: 1, fillColor: "#fbfaf5", fillOpacity: 0.9 };

  function create(el, opts) {
    opts = opts || {};
    var map = L.map(el, { zoomControl: false, attributionControl: !!FR.tileUrl, preferCanvas: !!opts.canvas,
                          zoomSnap: opts.zoomSnap || 1 });
    // Leaflet's own control says "Zoom in" in English: the same buttons, in the page's language.
    L.control.zoom({ zoomInTitle: FR.t("zoom_in"), zoomOutTitle: FR.t("zoom_out") }).addTo(map);
    map.setView(opts.center || [12.667, 108.038], opts.zoom || 12);
    if (FR.tileUrl) {
      L.tileLayer(FR.tileUrl, { maxZoom: 19, attribution: opts.attribution || "" }).addTo(map);
    }
    return map;
  }

  function loadCommunes() {
    if (!communes) {
      communes = fetch(FR.communesUrl, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("communes " + r.status);
        return r.json();
      });
    }
    return communes;
  }

  // Draw the communes as the base layer; style(feature) may override the default look.
  function addCommunes(map, style, onEach) {
    return loadCommunes().then(function (gj) {
      var layer = L.geoJSON(gj, {
        style: function (f) { return Object.assign({}, BASE_STYLE, FR.tileUrl ? { fillOpacity: 0.05 } : {}, style ? style(f) : {}); },
        onEachFeature: function (f, l) {
          l.bindTooltip(f.properties.full_name || f.properties.name, { sticky: true });
          if (onEach) onEach(f, l);
        },
        interactive: true
      }).addTo(map);
      layer.bringToBack();
      return layer;
    });
  }

  window.FRMap = { create: create, addCommunes: addCommunes, loadCommunes: loadCommunes };
})();
