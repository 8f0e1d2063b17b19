/* Shared helpers for the pages: messages, dates in Asia/Ho_Chi_Minh, API calls, ids. */
(function () {
  "use strict";
  var FR = window.FR || (window.FR = {});
  FR.t = function (k) { return (FR.msg && FR.msg[k]) || k; };
  // A message with {name} placeholders filled in: FR.tf("photos_count", {count: 2, max: 6}).
  FR.tf = function (k, args) {
    return FR.t(k).replace(/\{(\w+)\}/g, function (m, name) { return args && name in args ? args[name] : m; });
  };
  FR.statusLabel = function (s) { return FR.t("status_" + s) === "status_" + s ? s : FR.t("status_" + s); };
  FR.eventLabel = function (s) { return FR.t("event_" + s) === "event_" + s ? String(s).replace(/_/g, " ") : FR.t("event_" + s); };
  FR.esc = function (s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  // dd/mm/yyyy HH:MM in the deployment's zone, whatever the phone's zone is.
  FR.fmtDateTime = function (iso, dateOnly) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d)) return String(iso);
    var opts = { timeZone: FR.tz || "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric" };
    if (!dateOnly) { opts.hour = "2-digit"; opts.minute = "2-digit"; opts.hourCycle = "h23"; }
    var parts = {};
    new Intl.DateTimeFormat("en-GB", opts).formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
    var s = parts.day + "/" + parts.month + "/" + parts.year;
    return dateOnly ? s : s + " " + parts.hour + ":" + parts.minute;
  };
  FR.uuid = function () {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  };
  // fetch + JSON; rejects with {status, problem} on HTTP errors and {status: 0} when offline.
  FR.api = function (path, opts) {
    opts = opts || {};
    var headers = Object.assign({ "Accept": "application/json", "Accept-Language": FR.lang || "vi" }, opts.headers || {});
    var init = { method: opts.method || "GET", headers: headers, credentials: "same-origin" };
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(opts.json); }
    else if (opts.body !== undefined) { init.body = opts.body; }
    return fetch(path, init).then(function (resp) {
      var ct = resp.headers.get("Content-Type") || "";
      var body = ct.indexOf("json") >= 0 ? resp.json() : resp.text();
      return body.then(function (data) {
        if (resp.ok) return data;
        throw { status: resp.status, problem: data, retryAfter: resp.headers.get("Retry-After") };
      });
    }, function () { throw { status: 0 }; });
  };
  // POST a body with XMLHttpRequest, whose upload events give a real progress bar (fetch has
  // none); settles exactly like FR.api: the JSON body, or {status, problem, retryAfter}.
  FR.upload = function (path, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.withCredentials = true;
      var all = Object.assign({ "Accept": "application/json", "Accept-Language": FR.lang || "vi" }, headers || {});
      Object.keys(all).forEach(function (k) { xhr.setRequestHeader(k, all[k]); });
      if (onProgress) {
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      }
      xhr.onload = function () {
        var data = xhr.responseText;
        if ((xhr.getResponseHeader("Content-Type") || "").indexOf("json") >= 0) {
          try { data = JSON.parse(xhr.responseText); } catch (e) { /* keep the text */ }
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject({ status: xhr.status, problem: data, retryAfter: xhr.getResponseHeader("Retry-After") });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { reject({ status: 0 }); };
      xhr.send(body);
    });
  };
  FR.problemText = function (err) {
    if (!err) return "";
    var p = err.problem;
    if (p && typeof p === "object") {
      var msg = p.message || p.title || "";
      if (p.errors) msg += " " + JSON.stringify(p.errors);
      return msg;
    }
    return err.status ? "HTTP " + err.status : FR.t("offline_banner");
  };
  // Chart.js numbers in the page's language (decimal comma in Vietnamese), for every chart of
  // every page: applied the moment the vendored UMD bundle defines window.Chart.
  function localiseChart(C) {
    if (C && C.defaults) C.defaults.locale = FR.lang === "en" ? "en-GB" : "vi-VN";
    return C;
  }
  if (window.Chart) localiseChart(window.Chart);
  else {
    var chart;
    Object.defineProperty(window, "Chart", { configurable: true, enumerable: true,
      get: function () { return chart; }, set: function (v) { chart = localiseChart(v); } });
  }
  function offlineBanner() {
    var el = document.getElementById("offline");
    if (el) el.hidden = navigator.onLine;
  }
  window.addEventListener("online", offlineBanner);
  window.addEventListener("offline", offlineBanner);
  document.addEventListener("DOMContentLoaded", offlineBanner);
})();
