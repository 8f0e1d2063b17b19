/* Service worker: keeps the citizen page usable offline (network first, cached shell second) and
   shows Web Push notifications. */
"use strict";
var CACHE = "fieldreport-shell-v2";
var SHELL = ["/", "/track", "/static/web/app.css", "/static/web/common.js", "/static/web/map.js",
             "/static/web/citizen.js", "/static/web/track.js", "/static/web/account.js", "/static/web/track.css", "/static/vendor/leaflet/leaflet.js",
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

// Web Push: the server's message (services/notify: title, body, url, tag, image) becomes a
// notification; tapping it opens (or focuses) the report's tracking page.
self.addEventListener("push", function (ev) {
  var d = {};
  try { d = ev.data ? ev.data.json() : {}; } catch (e) { d = { body: ev.data ? ev.data.text() : "" }; }
  var opts = { body: d.body || "", tag: d.tag || undefined, renotify: !!d.tag, data: { url: d.url || "/" } };
  if (d.image) opts.image = d.image;
  ev.waitUntil(self.registration.showNotification(d.title || "Phản ánh hiện trường", opts));
});

self.addEventListener("notificationclick", function (ev) {
  ev.notification.close();
  var url = new URL((ev.notification.data && ev.notification.data.url) || "/", self.location.origin).href;
  ev.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === url && "focus" in list[i]) return list[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});
