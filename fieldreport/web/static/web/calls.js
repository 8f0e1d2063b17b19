/* The operator's call page: place by name (listbox, arrow keys) or map pin, the commune from
   our boundaries (/api/v1/locate), the category's questions, the open reports nearby
   (/api/v1/reports/nearby) while typing, Ctrl+Enter to record. Keyboard first. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var opts, map, marker, results = [], active = -1, timer = null, nearbyTimer = null;

  function localText(text) {
    var parts = String(text || "").split(" / ");
    return parts.length === 2 ? parts[FR.lang === "en" ? 1 : 0] : String(text || "");
  }

  // -- place: a combobox over our communes and known addresses --------------------------------
  function openList(open) {
    $("place-results").hidden = !open;
    $("place").setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) { $("place").removeAttribute("aria-activedescendant"); active = -1; }
  }

  function renderResults() {
    var list = $("place-results");
    if (!results.length) {
      list.innerHTML = '<li role="option" aria-disabled="true" class="muted">' + FR.esc(FR.t("call_place_none")) + "</li>";
    } else {
      list.innerHTML = results.map(function (r, i) {
        return '<li role="option" id="place-opt-' + i + '" data-i="' + i + '" aria-selected="' + (i === active) + '"' +
          (i === active ? ' class="active"' : "") + ">" + FR.esc(r.label) + "</li>";
      }).join("");
    }
    if (active >= 0) $("place").setAttribute("aria-activedescendant", "place-opt-" + active);
    openList(true);
  }

  function search() {
    var q = $("place").value.trim();
    if (q.length < 2) { results = []; openList(false); return; }
    fetch(opts.placesUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        if ($("place").value.trim() !== q) return;  // typed on meanwhile
        results = rows; active = rows.length ? 0 : -1; renderResults();
      });
  }

  function choose(r) {
    $("place").value = r.label;
    if (r.kind === "address" && !$("address_hint").value) $("address_hint").value = r.address;
    openList(false);
    setPoint(r.lat, r.lon, 15);
  }

  function setPoint(lat, lon, zoom) {
    $("lat").value = lat.toFixed(6);
    $("lon").value = lon.toFixed(6);
    if (map) {
      if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon], { keyboard: false }).addTo(map);
      map.setView([lat, lon], zoom || map.getZoom());
    }
    // The commune shown is the one our boundaries give (the one the report is routed in).
    fetch("/api/v1/locate?lat=" + lat + "&lon=" + lon, { headers: { "Accept-Language": FR.lang } })
      .then(function (r) { return r.json(); })
      .then(function (w) {
        var name = w.commune ? w.commune.name : "—";
        $("place-chosen").textContent = FR.t("call_commune") + ": " + name +
          (w.inside ? "" : " — " + FR.t("err_outside")) + " (" + lat.toFixed(5) + ", " + lon.toFixed(5) + ")";
      });
    refreshNearby();
  }

  function onPlaceKey(e) {
    var open = !$("place-results").hidden && results.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!open) { search(); e.preventDefault(); return; }
      active = (active + (e.key === "ArrowDown" ? 1 : results.length - 1)) % results.length;
      renderResults();
      e.preventDefault();
    } else if (e.key === "Enter" && open && active >= 0 && !e.ctrlKey) {
      choose(results[active]);
      e.preventDefault();  // choosing a place never records the call
    } else if (e.key === "Escape") {
      openList(false);
    }
  }

  // -- the category's questions (the Open311 definitions) --------------------------------------
  function renderQuestions() {
    var form = opts.forms[$("category").value], box = $("questions");
    var defs = (form && form.attributes || []).filter(function (a) { return a.variable !== false; });
    if (!defs.length) { box.innerHTML = ""; return; }
    box.innerHTML = '<fieldset class="field"><legend>' + FR.esc(FR.t("call_questions")) + "</legend>" + defs.map(function (a) {
      var id = "attr-" + a.code, name = "attr." + a.code, kept = opts.kept[a.code];
      var label = FR.esc(localText(a.description)) + (a.required ? ' <span aria-hidden="true">*</span>' : "");
      var req = a.required ? ' required aria-required="true"' : "";
      var val = kept == null ? "" : (Array.isArray(kept) ? kept.join(",") : String(kept));
      if (a.datatype === "singlevaluelist") {
        return '<label for="' + id + '">' + label + '</label><select id="' + id + '" name="' + FR.esc(name) + '"' + req + '><option value="">' +
          FR.esc(FR.t("choose_value")) + "</option>" + (a.values || []).map(function (v) {
            return '<option value="' + FR.esc(v.key) + '"' + (String(v.key) === val ? " selected" : "") + ">" + FR.esc(v.name) + "</option>";
          }).join("") + "</select>";
      }
      if (a.datatype === "multivaluelist") {
        var chosen = val.split(",");
        return '<fieldset class="field" id="' + id + '"><legend>' + label + '</legend><input type="hidden" name="multi.' + FR.esc(a.code) + '" value="1">' +
          (a.values || []).map(function (v, i) {
            return '<label class="check"><input type="checkbox" id="' + id + "-" + i + '" name="' + FR.esc(name) + '" value="' + FR.esc(v.key) + '"' +
              (chosen.indexOf(String(v.key)) >= 0 ? " checked" : "") + "> " + FR.esc(v.name) + "</label>";
          }).join("") + "</fieldset>";
      }
      var type = a.datatype === "number" ? ' inputmode="decimal"' : a.datatype === "datetime" ? ' type="datetime-local"' : "";
      if (a.datatype === "text") {
        return '<label for="' + id + '">' + label + '</label><textarea id="' + id + '" name="' + FR.esc(name) + '" rows="2" maxlength="1000"' + req + ">" + FR.esc(val) + "</textarea>";
      }
      return '<label for="' + id + '">' + label + '</label><input id="' + id + '" name="' + FR.esc(name) + '" maxlength="1000"' + type + req + ' value="' + FR.esc(val) + '">';
    }).join("") + "</fieldset>";
  }

  // -- open reports of the same category nearby -------------------------------------------------
  function refreshNearby() {
    clearTimeout(nearbyTimer);
    nearbyTimer = setTimeout(loadNearby, 250);
  }

  function loadNearby() {
    var lat = $("lat").value, lon = $("lon").value, cat = $("category").value, list = $("nearby");
    if (!lat || !lon || !cat) { list.innerHTML = '<li class="muted">' + FR.esc(FR.t("call_nearby_none")) + "</li>"; return; }
    fetch("/api/v1/reports/nearby?lat=" + lat + "&lon=" + lon + "&category=" + encodeURIComponent(cat),
          { headers: { "Accept-Language": FR.lang } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        if (!rows.length) { list.innerHTML = '<li class="muted">' + FR.esc(FR.t("call_nearby_none")) + "</li>"; return; }
        list.innerHTML = rows.map(function (r) {
          return '<li class="nearby-item" data-code="' + FR.esc(r.code) + '"><strong>' + FR.esc(r.code) + "</strong> · " +
            FR.esc(Math.round(r.distance_m)) + " m · " + FR.esc(FR.statusLabel(r.status)) +
            (r.description ? "<br>" + FR.esc(r.description) : "") +
            '<br><button type="button" class="btn small support" data-code="' + FR.esc(r.code) + '">' +
            FR.esc(FR.t("call_support").replace("{code}", r.code)) + "</button></li>";
        }).join("");
      });
  }

  function support(code) {
    $("support-code").value = code;
    $("support-phone").value = $("phone").value;
    $("support-description").value = $("description").value;
    $("support-form").submit();
  }

  function init(o) {
    opts = o;
    $("place").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 150); });
    $("place").addEventListener("keydown", onPlaceKey);
    $("place").addEventListener("blur", function () { setTimeout(function () { openList(false); }, 150); });
    $("place-results").addEventListener("mousedown", function (e) {
      var li = e.target.closest("[data-i]");
      if (li) { e.preventDefault(); choose(results[+li.dataset.i]); }
    });
    $("category").addEventListener("change", function () { renderQuestions(); refreshNearby(); });
    $("description").addEventListener("input", refreshNearby);
    $("nearby").addEventListener("click", function (e) {
      var b = e.target.closest("button.support");
      if (b) support(b.dataset.code);
    });
    $("call-form").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("call-form").requestSubmit(); }
    });
    try {
      map = FRMap.create("call-map", { center: opts.center, zoom: 13 });
      map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng); });
      FRMap.addCommunes(map).then(function () {
        document.querySelectorAll("#call-map path").forEach(function (p) { p.setAttribute("tabindex", "-1"); });
      });
    } catch (err) { map = null; }  // the map is a help, never required: the place search is enough
    renderQuestions();
    if ($("lat").value && $("lon").value) setPoint(+$("lat").value, +$("lon").value, 15);
  }

  window.FRCalls = { init: init };
})();
