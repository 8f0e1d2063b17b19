/* Tracking page: the public view of one report, its history, and rating/reopen for its sender. */
(function () {
  "use strict";
  var API = "/api/v1/reports/";
  var code = null, token = null, map = null;

  function $(id) { return document.getElementById(id); }
  function auth() { return token ? { "X-Citizen-Token": token } : {}; }
  function pick(obj, names) {
    for (var i = 0; i < names.length; i++) {
      var v = names[i].split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
      if (v != null && v !== "") return v;
    }
    return null;
  }
  function label(v) {  // {name_vi, name_en, name} or a plain string
    if (v == null) return "";
    if (typeof v === "string") return v;
    return (FR.lang === "en" ? v.name_en : v.name_vi) || v.name || v.full_name || v.code || "";
  }

  function flash(text, ok) {
    var el = $("track-msg");
    el.textContent = text;
    el.className = "flash " + (ok ? "ok" : "error");
    el.hidden = false;
  }

  function render(r) {
    $("loading").hidden = true;
    $("report-body").hidden = false;
    var st = r.status;
    $("status").textContent = FR.statusLabel(st);
    $("status").className = "badge " + st;
    $("status").dataset.status = st;
    $("category-name").textContent = label(pick(r, ["category_name", "category"]));
    $("created").textContent = FR.fmtDateTime(pick(r, ["created_at", "submitted_at"]));
    $("area-name").textContent = label(pick(r, ["area_name", "area"]));
    $("unit-name").textContent = label(pick(r, ["unit_name", "unit"]));
    $("due").textContent = FR.fmtDateTime(pick(r, ["citizen_due_at", "due_at"]));
    $("followers").textContent = pick(r, ["followers_count"]) || 0;
    $("description").textContent = r.description || "";
    var answer = pick(r, ["public_answer", "answer"]);
    $("answer-box").hidden = !answer;
    $("answer").textContent = answer || "";

    var photos = r.photos || [];
    $("photos").innerHTML = photos.map(function (p) {
      var src = pick(p, ["thumb_url", "display_url", "url"]);
      var big = pick(p, ["display_url", "url", "thumb_url"]);
      if (!src) return "";
      var kind = p.kind === "after" ? FR.t("after") : FR.t("before");
      return '<figure><a href="' + FR.esc(big) + '" target="_blank" rel="noopener"><img src="' + FR.esc(src) +
        '" alt="' + FR.esc(kind) + '" class="photo-' + FR.esc(p.kind || "before") + '"></a><figcaption>' + FR.esc(kind) + "</figcaption></figure>";
    }).join("");

    var lat = pick(r, ["lat", "location.lat"]), lon = pick(r, ["lon", "location.lon", "long"]);
    if (lat != null && lon != null && !map) {
      map = FRMap.create("map", { center: [lat, lon], zoom: 15 });
      FRMap.addCommunes(map);
      L.marker([lat, lon]).addTo(map);
    }

    var hist = r.history || r.events || r.updates;
    if (hist && hist.length) renderHistory(hist);

    var resolved = st === "resolved" || st === "closed";
    var rated = pick(r, ["rating", "rating.value"]) != null;
    $("rate-card").hidden = !(resolved && !rated && token);
    $("reopen-card").hidden = !(resolved && token && r.reopen_allowed !== false);
    $("need-token").hidden = !(resolved && !token);
    $("info-card").hidden = !(st === "awaiting_info" && token);
    if (rated) flash(FR.t("rated") + ": " + (typeof r.rating === "object" ? r.rating.value : r.rating) + "/5", true);
  }

  function renderHistory(list) {
    $("history-card").hidden = false;
    $("history").innerHTML = list.map(function (e) {
      var what = pick(e, ["label", "title"]) || FR.eventLabel(pick(e, ["type", "event"]));
      var st = pick(e, ["to_status", "status"]);
      var note = pick(e, ["note", "message", "public_note", "description"]);
      return "<li><div class=\"when\">" + FR.esc(FR.fmtDateTime(pick(e, ["at", "created_at", "updated_datetime"]))) +
        "</div><div><strong>" + FR.esc(what) + "</strong>" + (st ? ' <span class="badge ' + FR.esc(st) + '">' + FR.esc(FR.statusLabel(st)) + "</span>" : "") +
        "</div>" + (note ? '<div class="pre small">' + FR.esc(note) + "</div>" : "") + "</li>";
    }).join("");
  }

  function load() {
    return FR.api(API + encodeURIComponent(code), { headers: auth() }).then(function (r) {
      render(r);
      if (!(r.history || r.events || r.updates) && token) {
        // The public view may leave the history to the sender's own listing.
        FR.api("/api/v1/me/reports", { headers: auth() }).then(function (body) {
          var list = Array.isArray(body) ? body : (body.items || body.reports || []);
          var mine = list.filter(function (x) { return x.code === code; })[0];
          if (mine && (mine.history || mine.events)) renderHistory(mine.history || mine.events);
        }, function () {});
      }
    }, function (err) {
      $("loading").textContent = err.status === 404 ? FR.t("not_found") : FR.problemText(err);
    });
  }

  function stars() {
    var labels = document.querySelectorAll(".stars label");
    Array.prototype.forEach.call(labels, function (lab) {
      lab.querySelector("input").addEventListener("change", function () {
        var v = +this.value;
        Array.prototype.forEach.call(labels, function (l) { l.classList.toggle("on", +l.querySelector("input").value <= v); });
      });
    });
  }

  function init(c) {
    code = c;
    var m = /[#&]t=([^&]+)/.exec(location.hash);
    if (m) {  // a link carrying the sender's token: keep it on this device, drop it from the URL
      token = decodeURIComponent(m[1]);
      FRCitizen.addMine({ code: code, token: token, at: new Date().toISOString() });
      window.history.replaceState(null, "", location.pathname + location.search);
    } else {
      token = FRCitizen.tokenFor(code);
    }
    stars();
    $("rate-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var v = this.querySelector("input[name=rating]:checked");
      if (!v) return;
      FR.api(API + encodeURIComponent(code) + "/rating", { method: "POST", headers: auth(),
        json: { rating: +v.value, comment: $("rating-comment").value.trim() || undefined } })
        .then(function () { $("rate-card").hidden = true; return load(); }, function (err) { flash(FR.problemText(err)); });
    });
    $("reopen-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      FR.api(API + encodeURIComponent(code) + "/reopen", { method: "POST", headers: auth(),
        json: { reason: $("reopen-reason").value.trim() } })
        .then(function () { $("reopen-card").hidden = true; return load(); }, function (err) { flash(FR.problemText(err)); });
    });
    $("info-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      FR.api(API + encodeURIComponent(code) + "/info", { method: "POST", headers: auth(),
        json: { text: $("info-text").value.trim() } })
        .then(function () { $("info-card").hidden = true; return load(); }, function (err) { flash(FR.problemText(err)); });
    });
    load();
  }

  window.FRTrack = { init: init, reload: load };
})();
