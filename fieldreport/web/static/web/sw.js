/* Service worker: keeps the citizen page usable offline (network first, cached shell second). */
"use strict";
var CACHE = "fieldreport-shell-v1";
var SHELL = ["/", "/track", "/static/web/app.css", "/static/web/common.js", "/static/web/map.js",
             "/static/web/citizen.js", "/static/web/track.js", "/static/vendor/leaflet/leaflet.js",
             "/static/vendor/leaflet/leaflet.css", "/web/communes.geojson"];

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (ev) {
  var req = ev.request, url = new URL(req.url);
  // Only the page shell: API calls (and every POST) go straight to the network, so a failed
  // submission stays in the page's own queue and is retried with its Idempotency-Key.
  if (req.method !== "GET" || url.origin !== location.origin || url.pathname.indexOf("/api/") === 0 ||
      url.pathname.indexOf("/console") === 0) return;
  ev.respondWith(fetch(req).then(function (resp) {
    if (resp.ok && (SHELL.indexOf(url.pathname) >= 0 || url.pathname.indexOf("/track/") === 0)) {
      var copy = resp.clone();
      caches.open(CACHE).then(function (c) { c.put(req, copy); });
    }
    return resp;
  }, function () {
    return caches.match(req, { ignoreSearch: true }).then(function (hit) {
      return hit || caches.match(url.pathname.indexOf("/track/") === 0 ? "/track" : "/");
    });
  }));
});
