/* Citizen report form: photos, position, "me too", and submissions kept until the API has them. */
(function () {
  "use strict";
  var MINE = "fr.mine";
  var API = "/api/v1";
  var photos = [];          // File/Blob objects chosen for the current report
  var map = null, marker = null, circle = null;
  var skipNearby = false;   // set when the citizen chose "send mine anyway"
  var flushing = false;

  /* ---- the citizen's own reports (code + secret token), kept on this device ---- */
  function mine() {
    try { return JSON.parse(localStorage.getItem(MINE) || "[]"); } catch (e) { return []; }
  }
  function addMine(entry) {
    var list = mine().filter(function (m) { return m.code !== entry.code; });
    list.unshift(entry);
    localStorage.setItem(MINE, JSON.stringify(list.slice(0, 50)));
  }
  function tokenFor(code) {
    var m = mine().filter(function (x) { return x.code === code; })[0];
    return m ? m.token : null;
  }
  function showMine() {
    var ul = document.getElementById("mine"), card = document.getElementById("mine-card");
    if (!ul) return;
    var list = mine();
    card.hidden = list.length === 0;
    ul.innerHTML = list.map(function (m) {
      return '<li><a class="code" href="/track/' + encodeURIComponent(m.code) + '">' + FR.esc(m.code) +
        '</a><span class="muted small">' + FR.esc(m.category || "") + " · " + FR.fmtDateTime(m.at) + "</span></li>";
    }).join("");
  }

  /* ---- pending submissions in IndexedDB (photos are Blobs; localStorage cannot hold them) ---- */
  var idb = {
    open: function () {
      return new Promise(function (resolve, reject) {
        var req = indexedDB.open("fieldreport", 1);
        req.onupgradeneeded = function () { req.result.createObjectStore("pending", { keyPath: "key" }); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    },
    tx: function (mode, fn) {
      return idb.open().then(function (db) {
        return new Promise(function (resolve, reject) {
          var t = db.transaction("pending", mode), store = t.objectStore("pending"), out;
          var r = fn(store);
          if (r) r.onsuccess = function () { out = r.result; };
          t.oncomplete = function () { db.close(); resolve(out); };
          t.onerror = function () { db.close(); reject(t.error); };
        });
      });
    },
    put: function (rec) { return idb.tx("readwrite", function (s) { return s.put(rec); }); },
    del: function (key) { return idb.tx("readwrite", function (s) { return s.delete(key); }); },
    all: function () { return idb.tx("readonly", function (s) { return s.getAll(); }); }
  };

  function refreshPending() {
    return idb.all().then(function (list) {
      var box = document.getElementById("pending");
      if (!box) return list;
      box.hidden = list.length === 0;
      document.getElementById("pending-count").textContent = list.length;
      return list;
    });
  }

  /* ---- sending: one attempt per pending record, same Idempotency-Key every time ---- */
  function send(rec) {
    var fd = new FormData();
    Object.keys(rec.fields).forEach(function (k) {
      if (rec.fields[k] !== "" && rec.fields[k] != null) fd.append(k, rec.fields[k]);
    });
    rec.photos.forEach(function (p, i) { fd.append("photos", p.blob, p.name || "photo" + i + ".jpg"); });
    var headers = { "Idempotency-Key": rec.key };
    if (rec.token) headers["X-Citizen-Token"] = rec.token;
    return FR.api(API + "/reports", { method: "POST", body: fd, headers: headers })
      .then(function (body) {
        addMine({ code: body.code, token: body.citizen_token, at: new Date().toISOString(), category: rec.label });
        return idb.del(rec.key).then(function () { return { ok: true, body: body }; });
      }, function (err) {
        // Offline, server trouble or rate limit: keep it and try again later. Anything else
        // is a final answer about this body, so it leaves the queue.
        var retry = err.status === 0 || err.status >= 500 || err.status === 429 || err.status === 408;
        if (retry) {
          rec.attempts = (rec.attempts || 0) + 1;
          rec.lastError = err.status;
          return idb.put(rec).then(function () { return { ok: false, retry: true, err: err }; });
        }
        return idb.del(rec.key).then(function () { return { ok: false, retry: false, err: err }; });
      });
  }

  function flushPending() {
    if (flushing) return Promise.resolve();
    flushing = true;
    return idb.all().then(function (list) {
      return list.reduce(function (p, rec) {
        return p.then(function () {
          return send(rec).then(function (res) {
            if (res.ok) showResult(res.body);
            else if (!res.retry) showError(res.err);
          });
        });
      }, Promise.resolve());
    }).then(function () { flushing = false; showMine(); return refreshPending(); },
            function () { flushing = false; });
  }

  /* ---- the form ---- */
  function $(id) { return document.getElementById(id); }

  function setPosition(lat, lon, accuracy) {
    $("lat").value = lat.toFixed(6);
    $("lon").value = lon.toFixed(6);
    $("accuracy_m").value = accuracy != null ? Math.round(accuracy) : "";
    $("position").textContent = lat.toFixed(5) + ", " + lon.toFixed(5) +
      (accuracy != null ? " (" + FR.t("accuracy") + " ±" + Math.round(accuracy) + " m)" : "");
    var ll = [lat, lon];
    if (!marker) marker = L.marker(ll).addTo(map); else marker.setLatLng(ll);
    if (circle) { map.removeLayer(circle); circle = null; }
    if (accuracy != null) circle = L.circle(ll, { radius: accuracy, weight: 1 }).addTo(map);
    map.setView(ll, Math.max(map.getZoom(), 15));
    skipNearby = false;
  }

  function locate() {
    if (!navigator.geolocation) { $("position").textContent = FR.t("geo_failed"); return; }
    $("position").textContent = FR.t("locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      setPosition(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
    }, function () {
      $("position").textContent = FR.t("geo_failed");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function renderPreviews() {
    $("previews").innerHTML = "";
    photos.forEach(function (f, i) {
      var img = document.createElement("img");
      img.src = URL.createObjectURL(f);
      img.alt = f.name || "photo";
      img.title = f.name || "";
      img.addEventListener("click", function () { photos.splice(i, 1); renderPreviews(); });
      $("previews").appendChild(img);
    });
  }
  function addFiles(input) {
    Array.prototype.forEach.call(input.files, function (f) { photos.push(f); });
    input.value = "";
    renderPreviews();
  }

  function selectedCategory() {
    var sel = $("category");
    var opt = sel.options[sel.selectedIndex];
    return { code: sel.value, label: opt ? opt.textContent : "", photoRequired: opt && opt.dataset.photoRequired === "1" };
  }

  function fields() {
    var out = {};
    ["category", "lat", "lon", "accuracy_m", "description", "address_hint",
     "reporter_name", "reporter_phone", "reporter_email"].forEach(function (k) { out[k] = $(k).value.trim(); });
    return out;
  }

  function showError(err) {
    var el = $("form-error");
    el.textContent = FR.t("rejected_input") + " " + FR.problemText(err);
    el.hidden = false;
  }

  function showResult(body) {
    var box = $("result");
    box.className = "card ok";
    box.innerHTML = "<p>" + FR.esc(FR.t("sent_ok")) + ' <strong class="code" id="new-code">' + FR.esc(body.code) +
      '</strong></p><a class="btn primary" id="track-link" href="/track/' + encodeURIComponent(body.code) + '">' +
      FR.esc(FR.t("track")) + "</a>";
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
  }

  function showSavedOffline() {
    var box = $("result");
    box.className = "card warn";
    box.innerHTML = "<p id=\"saved-offline\">" + FR.esc(FR.t("saved_offline")) + "</p>";
    box.hidden = false;
  }

  function resetForm() {
    $("report-form").reset();
    photos = [];
    renderPreviews();
    $("form-error").hidden = true;
    $("photo-hint").hidden = true;
    $("position").textContent = FR.t("no_location");
    if (marker) { map.removeLayer(marker); marker = null; }
    if (circle) { map.removeLayer(circle); circle = null; }
  }

  function validate(f, cat) {
    if (!f.category) return FR.t("choose_category");
    if (!f.lat || !f.lon) return FR.t("no_location");
    if (cat.photoRequired && photos.length === 0) return FR.t("photo_required");
    return null;
  }

  function checkNearby(f) {
    if (skipNearby || !navigator.onLine) return Promise.resolve([]);
    var q = "?lat=" + encodeURIComponent(f.lat) + "&lon=" + encodeURIComponent(f.lon) + "&category=" + encodeURIComponent(f.category);
    return FR.api(API + "/reports/nearby" + q).then(function (body) {
      return Array.isArray(body) ? body : (body.items || body.reports || body.results || []);
    }, function () { return []; });  // the check is a courtesy: never block a submission on it
  }

  function offerMeToo(list, f) {
    var box = $("metoo");
    $("metoo-list").innerHTML = list.slice(0, 3).map(function (r) {
      var dist = r.distance_m != null ? Math.round(r.distance_m) + " " + FR.t("meters_away") : "";
      return '<div class="metoo-item"><a class="code" href="/track/' + encodeURIComponent(r.code) + '">' + FR.esc(r.code) +
        "</a> · " + FR.esc(FR.statusLabel(r.status)) + " · " + FR.esc(dist) +
        (r.followers_count != null ? " · " + r.followers_count + " " + FR.esc(FR.t("supporters")) : "") +
        '<p class="small">' + FR.esc((r.description || "").slice(0, 140)) + "</p>" +
        '<button type="button" class="btn primary small metoo-btn" data-code="' + FR.esc(r.code) + '">' + FR.esc(FR.t("metoo")) + "</button></div>";
    }).join("");
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
    Array.prototype.forEach.call(box.querySelectorAll(".metoo-btn"), function (btn) {
      btn.addEventListener("click", function () { follow(btn.dataset.code, f); });
    });
  }

  // One secret per device: sent with every submission so "my reports" finds them all.
  function deviceToken() {
    var k = localStorage.getItem("fr.device");
    if (!k) { k = (FR.uuid() + FR.uuid()).replace(/-/g, ""); localStorage.setItem("fr.device", k); }
    return k;
  }

  function follow(code, f) {
    var body = {};
    if (f.reporter_email) body.email = f.reporter_email;
    if (f.reporter_phone) body.phone = f.reporter_phone;
    FR.api(API + "/reports/" + encodeURIComponent(code) + "/follow",
           { method: "POST", json: body, headers: { "X-Citizen-Token": deviceToken() } })
      .then(function () {
        $("metoo").hidden = true;
        addMine({ code: code, token: null, at: new Date().toISOString(), category: selectedCategory().label });
        var box = $("result");
        box.className = "card ok";
        box.innerHTML = '<p id="metoo-done">' + FR.esc(FR.t("metoo_done")) + ' <a class="code" href="/track/' +
          encodeURIComponent(code) + '">' + FR.esc(code) + "</a></p>";
        box.hidden = false;
        resetForm();
        showMine();
      }, showError);
  }

  function onSubmit(ev) {
    ev.preventDefault();
    $("form-error").hidden = true;
    var f = fields(), cat = selectedCategory();
    var problem = validate(f, cat);
    if (problem) { $("form-error").textContent = problem; $("form-error").hidden = false; return; }
    var btn = $("submit");
    btn.disabled = true;
    btn.textContent = FR.t("sending");
    checkNearby(f).then(function (list) {
      if (list.length) { offerMeToo(list, f); return null; }
      $("metoo").hidden = true;
      // Saved first, then sent: a crash or a dead network between the two loses nothing.
      var rec = { key: FR.uuid(), token: deviceToken(), created: Date.now(), label: cat.label, fields: f,
                  photos: photos.map(function (p) { return { blob: p, name: p.name, type: p.type }; }) };
      return idb.put(rec).then(function () { return send(rec); }).then(function (res) {
        if (res.ok) { resetForm(); showResult(res.body); }
        else if (res.retry) { resetForm(); showSavedOffline(); }
        else showError(res.err);
        showMine();
        return refreshPending();
      });
    }).then(function () {
      btn.disabled = false;
      btn.textContent = FR.t("submit");
    });
  }

  function init(opts) {
    map = FRMap.create("map", { center: opts.center, zoom: 13 });
    FRMap.addCommunes(map);
    map.on("click", function (e) { setPosition(e.latlng.lat, e.latlng.lng, null); });
    $("locate").addEventListener("click", locate);
    $("photo-camera").addEventListener("change", function () { addFiles(this); });
    $("photo-files").addEventListener("change", function () { addFiles(this); });
    $("category").addEventListener("change", function () {
      $("photo-hint").hidden = !selectedCategory().photoRequired;
      skipNearby = false;
    });
    $("report-form").addEventListener("submit", onSubmit);
    $("submit-anyway").addEventListener("click", function () {
      skipNearby = true;
      $("metoo").hidden = true;
      $("report-form").requestSubmit();
    });
    $("retry-now").addEventListener("click", flushPending);
    window.addEventListener("online", flushPending);
    setInterval(function () { if (navigator.onLine) flushPending(); }, 30000);
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(function () {});
    showMine();
    refreshPending().then(function (list) { if (list.length && navigator.onLine) flushPending(); });
  }

  window.FRCitizen = { init: init, showMine: showMine, tokenFor: tokenFor, addMine: addMine, deviceToken: deviceToken,
                       flushPending: flushPending, pending: function () { return idb.all(); } };
})();
