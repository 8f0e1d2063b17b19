/* Tracking page: what the public-data rule lets this viewer see of one report (its reporter sees
   the unit's question and answers it here), its timeline, rating/reopen, and notifications. */
(function () {
  "use strict";
  var API = "/api/v1/reports/";
  var code = null, token = null, map = null, reporter = false, pending = 0, last = null;
  var PHOTO_POLL_MS = 3000, PHOTO_POLLS = 60;  // a photo being processed fills in by itself

  function $(id) { return document.getElementById(id); }
  function auth() { return token ? { "X-Citizen-Token": token } : {}; }
  function label(v) {  // {name} or a plain string
    if (v == null) return "";
    return typeof v === "string" ? v : (v.name || v.code || "");
  }
  function show(id, on) { $(id).hidden = !on; }

  function flash(text, ok) {
    var el = $("track-msg");
    el.textContent = text;
    el.className = "flash " + (ok ? "ok" : "error");
    el.hidden = false;
  }

  function photoHtml(p) {
    var kind = p.kind === "after" ? FR.t("after") : FR.t("before");
    if (!p.ready || !(p.thumb_url || p.display_url)) {
      return '<figure class="photo-pending" data-photo="' + FR.esc(p.id) + '"><div class="placeholder" role="img" aria-label="' +
        FR.esc(FR.t("photo_processing")) + '">' + FR.esc(FR.t("photo_processing")) + "</div><figcaption>" + FR.esc(kind) + "</figcaption></figure>";
    }
    return '<figure data-photo="' + FR.esc(p.id) + '"><a href="' + FR.esc(p.display_url || p.thumb_url) +
      '" target="_blank" rel="noopener"><img src="' + FR.esc(p.thumb_url || p.display_url) + '" alt="' + FR.esc(kind) +
      '" class="photo-' + FR.esc(p.kind || "before") + '"></a><figcaption>' + FR.esc(kind) + "</figcaption></figure>";
  }

  function render(r) {
    last = r;
    $("loading").hidden = true;
    $("report-body").hidden = false;
    var st = r.status, hist = r.history || [];
    $("status").textContent = FR.statusLabel(st);
    $("status").className = "badge " + st;
    $("status").dataset.status = st;
    $("category-name").textContent = label(r.category);
    $("created").textContent = FR.fmtDateTime(r.created_at);
    $("area-name").textContent = label(r.area);
    $("address").textContent = r.address_hint || "";
    show("address", !!r.address_hint);
    show("address-label", !!r.address_hint);
    $("unit-name").textContent = label(r.unit);
    $("due").textContent = FR.fmtDateTime(r.due_at);
    show("due-extended", hist.some(function (e) { return e.type === "extended" && e.due_at; }));
    $("followers").textContent = r.followers_count || 0;
    $("description").textContent = r.description || "";

    show("reject-box", st === "rejected" && !!r.reject_reason_text);
    $("reject-text").textContent = r.reject_reason_text || "";
    var dup = hist.filter(function (e) { return e.duplicate_of; }).pop();
    show("duplicate-box", st === "duplicate" && !!dup);
    if (dup) { $("duplicate-link").textContent = dup.duplicate_of; $("duplicate-link").href = "/track/" + encodeURIComponent(dup.duplicate_of); }

    var photos = r.photos || [];
    var before = photos.filter(function (p) { return p.kind !== "after"; });
    var after = photos.filter(function (p) { return p.kind === "after"; });
    $("photos").innerHTML = before.map(photoHtml).join("");
    show("answer-box", !!r.public_answer);
    $("answer").textContent = r.public_answer || "";
    $("after-photos").innerHTML = after.map(photoHtml).join("");
    pending = photos.filter(function (p) { return !p.ready; }).length;

    var lat = r.location && r.location.lat, lon = r.location && r.location.lon;
    if (lat != null && lon != null && !map) {
      map = FRMap.create("map", { center: [lat, lon], zoom: 15 });
      FRMap.addCommunes(map);
      L.marker([lat, lon]).addTo(map);
    }
    renderHistory(hist);

    var question = hist.filter(function (e) { return e.type === "info_requested"; }).pop();
    show("info-card", st === "awaiting_info" && reporter);
    $("question").textContent = (question && question.note) || "";

    var resolved = st === "resolved" || st === "closed";
    var rated = r.rating != null;
    show("rate-card", resolved && !rated && reporter);
    show("reopen-card", resolved && reporter && r.reopen_allowed !== false);
    show("need-token", resolved && !reporter);
    show("erase-card", reporter);
    if (rated) flash(FR.t("rated") + ": " + r.rating + "/5", true);
  }

  function historyNote(e) {
    var parts = [];
    if (e.unit && /^(assigned|transferred|reassigned|returned|reopened)$/.test(e.type)) parts.push(FR.t("unit") + ": " + e.unit);
    if (e.type === "info_requested" && e.note) parts.push(FR.t("unit_question") + ": " + e.note);
    else if (e.type === "info_provided" && e.note) parts.push(FR.t("your_answer") + ": " + e.note);
    else if (e.type === "extended") {
      if (e.due_at) parts.push(FR.t("extended_to") + " " + FR.fmtDateTime(e.due_at));
      if (e.note) parts.push(e.note);
    } else if (e.note) parts.push(e.note);
    return parts;
  }

  function renderHistory(list) {
    show("history-card", list.length > 0);
    $("history").innerHTML = list.map(function (e) {
      var notes = historyNote(e).map(function (n) { return '<div class="pre small">' + FR.esc(n) + "</div>"; }).join("");
      var dup = e.duplicate_of ? '<div class="small">' + FR.esc(FR.t("duplicate_of")) + ' <a class="code" href="/track/' +
        encodeURIComponent(e.duplicate_of) + '">' + FR.esc(e.duplicate_of) + "</a></div>" : "";
      return '<li data-type="' + FR.esc(e.type) + '"><div class="when">' + FR.esc(FR.fmtDateTime(e.at)) + "</div><div><strong>" +
        FR.esc(FR.eventLabel(e.type)) + "</strong>" + (e.status ? ' <span class="badge ' + FR.esc(e.status) + '">' +
        FR.esc(FR.statusLabel(e.status)) + "</span>" : "") + "</div>" + notes + dup + "</li>";
    }).join("");
  }

  function load(polls) {
    return FR.api(API + encodeURIComponent(code), { headers: auth() }).then(function (r) {
      render(r);
      if (pending && (polls || 0) < PHOTO_POLLS) setTimeout(function () { load((polls || 0) + 1); }, PHOTO_POLL_MS);
    }, function (err) {
      $("loading").textContent = err.status === 404 ? FR.t("not_found") : FR.problemText(err);
    });
  }

  /* ---- notifications: this device's Web Push, the reporter's channels per report ---- */
  function b64ToBytes(s) {
    var raw = atob((s + "===".slice((s.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }

  function enablePush() {
    return Promise.all([FR.api("/api/v1/push/key"), navigator.serviceWorker.ready]).then(function (x) {
      return x[1].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64ToBytes(x[0].public_key) });
    }).then(function (sub) {
      return FR.api(API + encodeURIComponent(code) + "/subscriptions", { method: "POST", headers: auth(),
        json: Object.assign({ channel: "push" }, sub.toJSON()) });
    }).then(function () { flash(FR.t("notify_push_on"), true); return channels(); },
            function (err) { flash(FR.problemText(err)); });
  }

  function channels() {
    if (!reporter) return Promise.resolve();
    return FR.api(API + encodeURIComponent(code) + "/subscriptions", { headers: auth() }).then(function (list) {
      $("channels").innerHTML = list.map(function (c) {
        return '<li data-channel="' + FR.esc(c.channel) + '"><span>' + FR.esc(FR.t("channel_" + c.channel)) +
          (c.address ? ' <span class="muted small">' + FR.esc(c.address) + "</span>" : "") + '</span><button type="button" class="btn small" data-on="' +
          (c.active ? "0" : "1") + '">' + FR.esc(FR.t(c.active ? "notify_off" : "notify_on")) + "</button></li>";
      }).join("");
    }, function () {});
  }

  function initNotifications() {
    var canPush = "serviceWorker" in navigator && "PushManager" in window;
    show("notify-card", canPush || reporter);
    show("push-on", canPush);
    $("push-on").addEventListener("click", enablePush);
    $("channels").addEventListener("click", function (ev) {
      var btn = ev.target.closest("button[data-on]");
      if (!btn) return;
      var channel = btn.closest("li").dataset.channel;
      FR.api(API + encodeURIComponent(code) + "/subscriptions/" + channel, { method: "PUT", headers: auth(),
        json: { active: btn.dataset.on === "1" } }).then(channels, function (err) { flash(FR.problemText(err)); });
    });
    channels();
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

  function whoAmI() {
    // The reporter: this device holds the report's token, or the signed-in citizen sent it.
    if (token) return Promise.resolve(true);
    if (!(window.FRAccount && FRAccount.session())) return Promise.resolve(false);
    return FR.api("/api/v1/me/reports").then(function (list) {
      return list.some(function (x) { return x.code === code; });
    }, function () { return false; });
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
    $("erase-me").addEventListener("click", function () {
      if (!window.confirm(FR.t("erase_confirm"))) return;
      FR.api(API + encodeURIComponent(code) + "/erasure", { method: "POST", headers: auth(), json: {} })
        .then(function () { $("erase-card").hidden = true; flash(FR.t("erase_done"), true); },
              function (err) { flash(FR.problemText(err)); });
    });
    $("info-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      FR.api(API + encodeURIComponent(code) + "/info", { method: "POST", headers: auth(),
        json: { text: $("info-text").value.trim() } })
        .then(function () { $("info-card").hidden = true; $("info-text").value = ""; flash(FR.t("info_sent"), true); return load(); },
              function (err) { flash(FR.problemText(err)); });
    });
    whoAmI().then(function (isReporter) {
      reporter = isReporter;
      initNotifications();
      return load();
    });
  }

  window.FRTrack = { init: init, reload: load, last: function () { return last; } };
})();
