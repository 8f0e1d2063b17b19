/* Leaflet maps: a street basemap when its tiles load, else our own commune polygons; in the page's language. */
(function () {
  "use strict";
  var communes = null;  // one download per page
  var BASE_STYLE = { color: "#8795a8", weight: 1, fillColor: "#fbfaf5", fillOpacity: 0.9 };
  var ON_TILES = { color: "#4b5d75", weight: 1.2, fillOpacity: 0.04, dashArray: "4 3" };
  var TILE_FAILURES = 4;  // this many failed tiles and not one loaded: the tile server is out of reach

  /* Leaflet's own words (zoom buttons, marker alt, attribution prefix, layers toggle, popup close),
     said in the page's language once for every map of every page. */
  function localise() {
    if (!window.L || L._frLocalised) return;
    L._frLocalised = true;
    L.Control.Zoom.mergeOptions({ zoomInTitle: FR.t("map_zoom_in"), zoomOutTitle: FR.t("map_zoom_out") });
    L.Control.Attribution.mergeOptions({
      prefix: '<a href="https://leafletjs.com" title="' + FR.esc(FR.t("map_leaflet_title")) + '">Leaflet</a>' });
    L.Marker.mergeOptions({ alt: FR.t("map_marker") });
    var initLayout = L.Control.Layers.prototype._initLayout;
    L.Control.Layers.include({ _initLayout: function () {
      initLayout.apply(this, arguments);
      this._layersLink.title = FR.t("map_layers");
      this._layersLink.setAttribute("aria-label", FR.t("map_layers"));
    } });
    var initPopup = L.Popup.prototype._initLayout;
    L.Popup.include({ _initLayout: function () {
      initPopup.apply(this, arguments);
      if (this._closeButton) this._closeButton.setAttribute("aria-label", FR.t("map_close_popup"));
    } });
  }

  function create(el, opts) {
    localise();
    opts = opts || {};
    var map = L.map(el, { zoomControl: true, attributionControl: true, preferCanvas: !!opts.canvas,
                          zoomSnap: opts.zoomSnap || 1 });
    map.setView(opts.center || [12.667, 108.038], opts.zoom || 12);
    map._frTiles = false;
    if (FR.tileUrl) addTiles(map);
    return map;
  }

  /* The street basemap; given up (and the communes drawn as the base instead) when no tile
     arrives, e.g. a phone without internet access to the tile server, or tests that block it. */
  function addTiles(map) {
    var failed = 0, loaded = 0;
    var tiles = L.tileLayer(FR.tileUrl, { maxZoom: 19, attribution: FR.tileAttribution || "",
                                          crossOrigin: false }).addTo(map);
    map._frTiles = true;
    tiles.on("tileload", function () { loaded++; });
    tiles.on("tileerror", function () {
      failed++;
      if (loaded === 0 && failed >= TILE_FAILURES && map._frTiles) {
        map._frTiles = false;
        map.removeLayer(tiles);
        map.getContainer().classList.add("no-tiles");
        map.fire("fr:basemapfallback");
      }
    });
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

  /* The communes: the base layer without tiles, outlines over tiles. style(feature) may
     override the look; opts.interactive=false makes them pure drawing (the citizen form). */
  function addCommunes(map, style, onEach, opts) {
    opts = opts || {};
    var interactive = opts.interactive !== false;
    function styleOf(f) {
      return Object.assign({}, BASE_STYLE, map._frTiles ? ON_TILES : {}, style ? style(f) : {});
    }
    return loadCommunes().then(function (gj) {
      var layer = L.geoJSON(gj, {
        style: styleOf,
        onEachFeature: function (f, l) {
          // Names go into HTML: escaped here, whatever the boundary file says.
          if (interactive) l.bindTooltip(FR.esc(f.properties.full_name || f.properties.name), { sticky: true });
          if (onEach) onEach(f, l);
        },
        interactive: interactive
      }).addTo(map);
      layer.bringToBack();
      outOfTabOrder(layer);
      map.on("fr:basemapfallback", function () { layer.setStyle(styleOf); });
      return layer;
    });
  }

  /* A hundred commune outlines must not each be a Tab stop before the form's next field:
     the map itself (arrow keys pan, +/- zoom) is the one stop. */
  function outOfTabOrder(layer) {
    layer.eachLayer(function (l) {
      var el = l.getElement && l.getElement();
      if (el) { el.setAttribute("tabindex", "-1"); el.setAttribute("aria-hidden", "true"); }
    });
  }

  window.FRMap = { create: create, addCommunes: addCommunes, loadCommunes: loadCommunes, localise: localise };
})();
