/* Citizen report form: category tiles and questions, photos made small on the phone, a pin on a
   street map, every error at once, "me too", and submissions kept until the API has them. */
(function () {
  "use strict";
  var MINE = "fr.mine";
  var API = "/api/v1";
  var MAX_SIDE = 2048, QUALITY = 0.8;  // the longest side the server's display copy keeps; 0.8 sends a fifth less than 0.85 on 3G
  var opts = { forms: {}, limits: { photos: 6 } };
  var photos = [];          // {id, blob, name, heic, url, ready: Promise} chosen for this report
  var photoSeq = 0;
  var map = null, marker = null, circle = null;
  var place = null;         // the last /locate answer for the pin, null while unknown
  var placeSeq = 0;
  var skipNearby = false;   // set when the citizen chose "send mine anyway"
  var flushing = false;
  var inFlight = {};        // Idempotency-Keys being sent right now: never sent twice at once

  function $(id) { return document.getElementById(id); }

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
    var ul = $("mine"), card = $("mine-card");
    if (!ul) return;
    var list = mine();
    card.hidden = list.length === 0;
    ul.innerHTML = list.map(function (m) {
      return '<li><a class="code" href="/track/' + encodeURIComponent(m.code) + '">' + FR.esc(m.code) +
        '</a><span class="muted small">' + FR.esc(m.category || "") + " · " + FR.esc(FR.fmtDateTime(m.at)) + "</span></li>";
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
      var box = $("pending");
      if (!box) return list;
      box.hidden = list.length === 0;
      $("pending-count").textContent = list.length;
      return list;
    });
  }

  /* ---- sending: one attempt per pending record, same Idempotency-Key every time ---- */
  function send(rec, onProgress) {
    inFlight[rec.key] = true;
    var fd = new FormData();
    Object.keys(rec.fields).forEach(function (k) {
      if (rec.fields[k] !== "" && rec.fields[k] != null) fd.append(k, rec.fields[k]);
    });
    Object.keys(rec.attributes || {}).forEach(function (k) { fd.append("attribute[" + k + "]", rec.attributes[k]); });
    rec.photos.forEach(function (p, i) { fd.append("photos", p.blob, p.name || "photo" + i + ".jpg"); });
    var headers = { "Idempotency-Key": rec.key, "X-Client": "web" };  // channel "web" in the indicators
    if (rec.token) headers["X-Citizen-Token"] = rec.token;
    return FR.upload(API + "/reports", fd, headers, onProgress)
      .finally(function () { delete inFlight[rec.key]; })
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
      // A slow upload (3G) outlives the 30 s retry timer: the retry must not send it again
      // alongside, halving the bandwidth of both.
      return list.filter(function (rec) { return !inFlight[rec.key]; }).reduce(function (p, rec) {
        return p.then(function () {
          return send(rec).then(function (res) {
            if (res.ok) showResult(res.body);
            else if (!res.retry) showServerError(res.err);
          });
        });
      }, Promise.resolve());
    }).then(function () { flushing = false; showMine(); return refreshPending(); },
            function () { flushing = false; });
  }

  /* ---- photos: made small on the phone (canvas, upright), HEIC sent as it is ---- */
  function isHeic(file) {
    return /hei[cf]/i.test(file.type || "") || /\.hei[cf]$/i.test(file.name || "");
  }
  function jpegName(name) { return String(name || "photo").replace(/\.[^.]*$/, "") + ".jpg"; }

  function prepare(file) {
    if (isHeic(file) || !window.createImageBitmap) return Promise.resolve({ blob: file, name: file.name });
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bmp.width * scale));
      canvas.height = Math.max(1, Math.round(bmp.height * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";  // a transparent PNG becomes JPEG on white, not on black
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
      if (bmp.close) bmp.close();
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", QUALITY); });
    }).then(function (jpeg) {
      // Already small enough as it is: keep the original bytes (and all its metadata).
      if (!jpeg || (file.type === "image/jpeg" && file.size <= jpeg.size)) return { blob: file, name: file.name };
      return withExif(file, jpeg).then(function (blob) { return { blob: blob, name: jpegName(file.name) }; });
    }, function () {
      return { blob: file, name: file.name };  // the browser cannot read it: the server decides
    });
  }

  /* The original's EXIF (time and GPS: the staff's evidence) copied into the small JPEG, with its
     orientation set to "upright" because the canvas has already turned the pixels. */
  function withExif(original, jpeg) {
    if (original.type !== "image/jpeg") return Promise.resolve(jpeg);
    return original.slice(0, 256 * 1024).arrayBuffer().then(function (buf) {
      var app1 = exifSegment(new DataView(buf));
      if (!app1) return jpeg;
      return new Blob([jpeg.slice(0, 2), app1, jpeg.slice(2)], { type: "image/jpeg" });
    }, function () { return jpeg; });
  }

  function exifSegment(v) {
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) return null;
    var off = 2;
    while (off + 4 <= v.byteLength) {
      var marker = v.getUint16(off), len = v.getUint16(off + 2);
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) return null;
      if (marker === 0xFFE1 && off + 2 + len <= v.byteLength && v.getUint32(off + 4) === 0x45786966) {
        var seg = new Uint8Array(v.buffer.slice(off, off + 2 + len));
        uprightOrientation(new DataView(seg.buffer), 10);
        return seg;
      }
      off += 2 + len;
    }
    return null;
  }

  function uprightOrientation(v, tiff) {
    try {
      var le = v.getUint16(tiff) === 0x4949;
      var ifd = tiff + v.getUint32(tiff + 4, le), n = v.getUint16(ifd, le);
      for (var i = 0; i < n; i++) {
        var entry = ifd + 2 + i * 12;
        if (v.getUint16(entry, le) === 0x0112) { v.setUint16(entry + 8, 1, le); return; }
      }
    } catch (e) { /* a malformed EXIF block: the server reads what it can */ }
  }

  /* A photo's EXIF position is private evidence: read here, on the device, and only offered
     (a button) when there is no position yet; it becomes the report's place only if chosen. */
  var photoPosition = null;
  function exifGps(seg) {
    try {
      var v = new DataView(seg.buffer), tiff = 10, le = v.getUint16(tiff) === 0x4949;
      var ifd = tiff + v.getUint32(tiff + 4, le), n = v.getUint16(ifd, le), gps = null, tags = {};
      for (var i = 0; i < n; i++) {
        var e = ifd + 2 + i * 12;
        if (v.getUint16(e, le) === 0x8825) gps = tiff + v.getUint32(e + 8, le);
      }
      if (gps === null) return null;
      for (var j = 0, m = v.getUint16(gps, le); j < m; j++) {
        var g = gps + 2 + j * 12, tag = v.getUint16(g, le);
        if (tag === 1 || tag === 3) tags[tag] = String.fromCharCode(v.getUint8(g + 8));
        else if ((tag === 2 || tag === 4) && v.getUint16(g + 2, le) === 5 && v.getUint32(g + 4, le) === 3) {
          var off = tiff + v.getUint32(g + 8, le), x = 0;
          for (var k = 0; k < 3; k++) {
            var den = v.getUint32(off + 8 * k + 4, le);
            x += (den ? v.getUint32(off + 8 * k, le) / den : 0) / Math.pow(60, k);
          }
          tags[tag] = x;
        }
      }
      if (tags[2] == null || tags[4] == null || (!tags[2] && !tags[4])) return null;
      return { lat: tags[1] === "S" ? -tags[2] : tags[2], lon: tags[3] === "W" ? -tags[4] : tags[4] };
    } catch (e) { return null; }
  }

  function offerPhotoPosition(file) {
    if (file.type !== "image/jpeg" || photoPosition) return;
    file.slice(0, 256 * 1024).arrayBuffer().then(function (buf) {
      var seg = exifSegment(new DataView(buf)), pos = seg && exifGps(seg);
      if (!pos || photoPosition || $("lat").value) return;
      photoPosition = pos;
      $("use-photo-position").hidden = false;
    }, function () { /* unreadable: nothing to offer */ });
  }

  function usePhotoPosition() {
    if (!photoPosition) return;
    setPosition(photoPosition.lat, photoPosition.lon, null);
    $("location_source").value = "exif";
  }

  function addFiles(input) {
    var max = opts.limits.photos, dropped = 0;
    Array.prototype.forEach.call(input.files, function (f) {
      if (photos.length >= max) { dropped++; return; }
      var item = { id: ++photoSeq, name: f.name, heic: isHeic(f), blob: null, url: null };
      offerPhotoPosition(f);
      item.ready = prepare(f).then(function (out) {
        item.blob = out.blob;
        item.name = out.name;
        if (!item.heic) item.url = URL.createObjectURL(out.blob);
        renderPreviews();
        return item;
      });
      photos.push(item);
    });
    input.value = "";
    renderPreviews();
    setError("photos", dropped ? FR.tf("photos_full", { n: max }) : null);
  }

  function removePhoto(id) {
    if (!window.confirm(FR.t("photo_remove_confirm"))) return;
    var gone = photos.filter(function (p) { return p.id === id; })[0];
    photos = photos.filter(function (p) { return p.id !== id; });
    if (gone && gone.url) URL.revokeObjectURL(gone.url);
    renderPreviews();
    setError("photos", null);
    var next = document.querySelector("#previews .remove") || $("choose-photo");
    next.focus();
  }

  function renderPreviews() {
    var max = opts.limits.photos;
    $("photos-count").textContent = "(" + FR.tf("photos_count", { count: photos.length, max: max }) + ")";
    $("take-photo").disabled = $("choose-photo").disabled = photos.length >= max;
    $("previews").innerHTML = photos.map(function (p, i) {
      var label = FR.t("photos") + " " + (i + 1);
      var pic = p.heic
        ? '<span class="placeholder" role="img" aria-label="' + FR.esc(label + ": " + FR.t("photo_heic")) + '">' +
          '<svg class="icon" aria-hidden="true" focusable="false"><use href="' + FR.esc(opts.sprite) + '#photo"></use></svg>' +
          '<span>HEIC</span></span>'
        : p.url ? '<img src="' + FR.esc(p.url) + '" alt="' + FR.esc(label) + '">'
        : '<span class="placeholder" role="img" aria-label="' + FR.esc(FR.t("photo_preparing")) + '">…</span>';
      return '<li class="preview" data-id="' + p.id + '">' + pic +
        '<button type="button" class="remove" data-id="' + p.id + '" aria-label="' +
        FR.esc(FR.t("photo_remove") + " " + (i + 1)) + '">×</button></li>';
    }).join("");
  }

  /* ---- position: a draggable pin, and the commune under it from our own boundaries ---- */
  function setPosition(lat, lon, accuracy) {
    $("location_source").value = "";  // the device or the citizen's pin, unless said otherwise
    $("use-photo-position").hidden = true;
    $("lat").value = lat.toFixed(6);
    $("lon").value = lon.toFixed(6);
    $("accuracy_m").value = accuracy != null ? Math.round(accuracy) : "";
    $("position").textContent = lat.toFixed(5) + ", " + lon.toFixed(5) +
      (accuracy != null ? " (" + FR.t("accuracy") + " ±" + Math.round(accuracy) + " m)" : "");
    var ll = [lat, lon];
    if (!marker) {
      marker = L.marker(ll, { draggable: true, autoPan: true, keyboard: false }).addTo(map);
      marker.on("dragend", function () {
        var p = marker.getLatLng();
        setPosition(p.lat, p.lng, null);
      });
    } else marker.setLatLng(ll);
    if (circle) { map.removeLayer(circle); circle = null; }
    if (accuracy != null) circle = L.circle(ll, { radius: accuracy, weight: 1, interactive: false }).addTo(map);
    map.setView(ll, Math.max(map.getZoom(), 16));
    skipNearby = false;
    setError("location", null);
    lookUpPlace(lat, lon);
  }

  function lookUpPlace(lat, lon) {
    var seq = ++placeSeq;
    place = null;
    $("place").className = "place";
    $("place").textContent = FR.t("place_checking");
    FR.api(API + "/locate?lat=" + lat.toFixed(6) + "&lon=" + lon.toFixed(6)).then(function (body) {
      if (seq !== placeSeq) return;  // the pin moved again meanwhile
      place = body;
      var el = $("place");
      if (body.inside) {
        el.className = "place ok";
        el.textContent = body.commune.name + ", " + (body.province ? body.province.name : "");
      } else {
        el.className = "place bad";
        el.textContent = FR.tf("place_outside", { province: (body.service_province && body.service_province.name) || "" });
      }
    }, function () {
      if (seq === placeSeq) $("place").textContent = "";  // offline: the server decides on sending
    });
  }

  function locate() {
    if (!navigator.geolocation) { $("position").textContent = FR.t("geo_failed"); return; }
    $("place").textContent = FR.t("locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      setPosition(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
    }, function () {
      $("place").textContent = FR.t("geo_failed");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  /* ---- the category and its own questions (the Open311 service definition) ---- */
  function selectedCategory() {
    var input = document.querySelector("input[name=category]:checked");
    if (!input) return { code: "", label: "", photoRequired: false, form: null };
    var tile = input.closest(".tile");
    return { code: input.value, label: tile.querySelector(".tile-name").textContent,
             photoRequired: input.dataset.photoRequired === "1", form: opts.forms[input.value] || null };
  }

  function localText(text) {
    // Definitions written "Tiếng Việt / English" show the page's language only.
    var parts = String(text || "").split(" / ");
    return parts.length === 2 ? parts[FR.lang === "en" ? 1 : 0] : String(text || "");
  }

  function renderAttributes() {
    var cat = selectedCategory(), box = $("attributes");
    var defs = (cat.form && cat.form.attributes || []).filter(function (a) { return a.variable !== false; });
    box.innerHTML = defs.map(function (a) {
      var id = "attr-" + FR.esc(a.code), label = FR.esc(localText(a.description)) + (a.required ? ' <span aria-hidden="true">*</span>' : "");
      var req = a.required ? ' required aria-required="true"' : "";
      var described = ' aria-describedby="' + id + '-error"';
      var input;
      if (a.datatype === "singlevaluelist") {
        input = '<select id="' + id + '" data-attr="' + FR.esc(a.code) + '"' + req + described + '><option value="">' +
          FR.esc(FR.t("choose_value")) + "</option>" + (a.values || []).map(function (v) {
            return '<option value="' + FR.esc(v.key) + '">' + FR.esc(v.name) + "</option>";
          }).join("") + "</select>";
      } else if (a.datatype === "multivaluelist") {
        return '<fieldset class="field attr" id="' + id + '" data-attr="' + FR.esc(a.code) + '" data-multi="1"' + described + "><legend>" + label + "</legend>" +
          (a.values || []).map(function (v, i) {
            return '<label class="check"><input type="checkbox" id="' + id + "-" + i + '" value="' + FR.esc(v.key) + '"> ' + FR.esc(v.name) + "</label>";
          }).join("") + '<p id="' + id + '-error" class="field-error" hidden></p></fieldset>';
      } else if (a.datatype === "number") {
        input = '<input id="' + id + '" data-attr="' + FR.esc(a.code) + '" inputmode="decimal" data-number="1"' + req + described + ">";
      } else if (a.datatype === "text") {
        input = '<textarea id="' + id + '" data-attr="' + FR.esc(a.code) + '" rows="2" maxlength="1000"' + req + described + "></textarea>";
      } else if (a.datatype === "datetime") {
        input = '<input type="datetime-local" id="' + id + '" data-attr="' + FR.esc(a.code) + '"' + req + described + ">";
      } else {
        input = '<input id="' + id + '" data-attr="' + FR.esc(a.code) + '" maxlength="1000"' + req + described + ">";
      }
      return '<div class="field attr"><label for="' + id + '">' + label + "</label>" + input +
        '<p id="' + id + '-error" class="field-error" hidden></p></div>';
    }).join("");
  }

  function attributeValues() {
    var out = {};
    Array.prototype.forEach.call($("attributes").querySelectorAll("[data-attr]"), function (el) {
      var value = el.dataset.multi
        ? Array.prototype.map.call(el.querySelectorAll("input:checked"), function (c) { return c.value; }).join(",")
        : el.value.trim();
      if (value !== "") out[el.dataset.attr] = el.dataset.number ? value.replace(",", ".") : value;
    });
    return out;
  }

  /* ---- checking: every problem at once, each next to its field ---- */
  var PHONE_RE = /^(\+?84|0)(3|5|7|8|9)\d{8}$|^(\+?84|0)2\d{9}$|^\+(?!84)[1-9]\d{6,14}$/;
  var EMAIL_RE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)*\.[^\s@.]{2,}$/;

  function validPhone(raw) { return PHONE_RE.test(String(raw).replace(/[\s.()-]/g, "")); }
  function validEmail(raw) { return EMAIL_RE.test(String(raw)) && String(raw).indexOf("..") < 0; }

  function fields() {
    var out = { category: selectedCategory().code };
    ["lat", "lon", "accuracy_m", "description", "address_hint",
     "reporter_name", "reporter_phone", "reporter_email", "notice_version", "location_source"].forEach(function (k) { out[k] = $(k).value.trim(); });
    // Consent is asked for the contact details only (the report itself needs none).
    out.contact_consent = $("contact_consent").checked ? "true" : "";
    return out;
  }

  function validate(f, cat) {
    var errors = {};
    if (!f.category) errors.category = FR.t("err_category");
    if (!f.lat || !f.lon) errors.location = FR.t("err_location");
    else if (place && place.inside === false) errors.location = FR.t("err_outside");
    if (cat.photoRequired && photos.length === 0) errors.photos = FR.t("err_photos");
    if (f.reporter_phone && !validPhone(f.reporter_phone)) errors.reporter_phone = FR.t("err_phone");
    if (f.reporter_email && !validEmail(f.reporter_email)) errors.reporter_email = FR.t("err_email");
    if ((f.reporter_name || f.reporter_phone || f.reporter_email) && !f.contact_consent) {
      errors.contact_consent = FR.t("err_consent");
    }
    if (cat.form && cat.form.anonymous_allowed === false && !(f.reporter_name && (f.reporter_phone || f.reporter_email))) {
      errors.contact = FR.t("err_contact");
    }
    Array.prototype.forEach.call($("attributes").querySelectorAll("[data-attr]"), function (el) {
      var key = "attr-" + el.dataset.attr;
      var value = el.dataset.multi ? (el.querySelector("input:checked") ? "x" : "") : el.value.trim();
      if (el.getAttribute("aria-required") === "true" && value === "") errors[key] = FR.t("err_required");
      else if (el.dataset.number && value !== "" && !isFinite(Number(value.replace(",", ".")))) errors[key] = FR.t("err_number");
    });
    return errors;
  }

  function control(name) {
    if (name === "category") return document.querySelector("input[name=category]:checked") || document.querySelector("input[name=category]");
    if (name === "photos") return $("take-photo");
    if (name === "location") return $("locate");
    if (name === "contact") return $("reporter_name");
    return $(name);
  }

  function setError(name, message) {
    var el = $(name + "-error");
    if (!el) return false;
    el.textContent = message || "";
    el.hidden = !message;
    var c = name === "category" ? $("category-field") : name === "photos" ? $("photos-field")
      : name === "location" ? $("location-field") : $(name);
    if (c) {
      if (message) c.setAttribute("aria-invalid", "true"); else c.removeAttribute("aria-invalid");
      var field = c.closest(".field");
      if (field) field.classList.toggle("invalid", !!message);
    }
    return true;
  }

  function clearErrors() {
    Array.prototype.forEach.call(document.querySelectorAll("#report-form .field-error"), function (el) {
      setError(el.id.replace(/-error$/, ""), null);
    });
    $("form-summary").hidden = true;
  }

  function showErrors(errors, extra) {
    clearErrors();
    var names = Object.keys(errors);
    var shown = names.filter(function (n) { return setError(n, errors[n]); });
    if (shown.some(function (n) { return /^reporter_|^contact$|^contact_consent$/.test(n); })) $("contact").open = true;
    var box = $("form-summary");
    box.textContent = (extra ? extra + " " : "") + (shown.length ? FR.tf("errors_summary", { n: shown.length }) : "");
    box.hidden = !box.textContent;
    var firstError = document.querySelector("#report-form .field-error:not([hidden])");
    var target = firstError ? control(firstError.id.replace(/-error$/, "")) : box;
    if (target && target.focus) target.focus();
  }

  /* The server checks everything again: its answer lands next to the field it is about. */
  var CODE_FIELDS = { outside_service_area: "location", location_required: "location", coordinates_incomplete: "location",
                      invalid_coordinates: "location", photo_required: "photos", too_many_photos: "photos",
                      contact_required: "contact", unknown_category: "category" };
  function serverErrors(err) {
    var p = err && err.problem, out = {};
    if (!p || typeof p !== "object") return out;
    var name = CODE_FIELDS[p.code] || (p.attribute ? "attr-" + p.attribute : null) ||
      (p.field === "photos" || /^photo_/.test(p.code || "") ? "photos" : p.field);
    if (name && $(name + "-error")) out[name] = p.message;
    var words = { reporter_phone: "err_phone", reporter_email: "err_email", category: "err_category",
                  description: "err_too_long", address_hint: "err_too_long", reporter_name: "err_too_long" };
    (function walk(obj) {  // marshmallow: {location: {field: [messages]}}
      Object.keys(obj || {}).forEach(function (k) {
        var v = obj[k];
        if (Array.isArray(v) && $(k + "-error")) out[k] = words[k] ? FR.t(words[k]) : v.join(" ");
        else if (v && typeof v === "object" && !Array.isArray(v)) walk(v);
      });
    })(p.errors);
    return out;
  }

  function showServerError(err) {
    var mapped = serverErrors(err);
    showErrors(mapped, Object.keys(mapped).length ? FR.t("err_server") : FR.t("err_server") + " " + FR.problemText(err));
  }

  /* ---- results ---- */
  function showResult(body) {
    var box = $("result");
    box.className = "card ok";
    box.innerHTML = "<p>" + FR.esc(FR.t("sent_ok")) + ' <strong class="code" id="new-code">' + FR.esc(body.code) +
      '</strong></p><a class="btn primary" id="track-link" href="/track/' + encodeURIComponent(body.code) + '">' +
      FR.esc(FR.t("track")) + "</a>";
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
    box.focus();
  }

  function showSavedOffline() {
    var box = $("result");
    box.className = "card warn";
    box.innerHTML = "<p id=\"saved-offline\">" + FR.esc(FR.t("saved_offline")) + "</p>";
    box.hidden = false;
    box.focus();
  }

  function resetForm() {
    $("report-form").reset();
    photoPosition = null;
    $("use-photo-position").hidden = true;
    photos.forEach(function (p) { if (p.url) URL.revokeObjectURL(p.url); });
    photos = [];
    renderPreviews();
    renderAttributes();
    clearErrors();
    $("photo-hint").hidden = true;
    $("place").className = "place";
    $("place").textContent = FR.t("no_location");
    $("position").textContent = "";
    place = null;
    if (marker) { map.removeLayer(marker); marker = null; }
    if (circle) { map.removeLayer(circle); circle = null; }
  }

  function progress(loaded, total) {
    var pct = total ? Math.min(100, Math.round(loaded * 100 / total)) : 0;
    $("upload-progress").value = pct;
    $("submit").textContent = FR.tf("uploading", { pct: pct });
  }

  /* ---- "me too": the existing report, and the citizen's photos and note added to it ---- */
  function checkNearby(f) {
    if (skipNearby || !navigator.onLine) return Promise.resolve([]);
    var q = "?lat=" + encodeURIComponent(f.lat) + "&lon=" + encodeURIComponent(f.lon) + "&category=" + encodeURIComponent(f.category);
    return FR.api(API + "/reports/nearby" + q).then(function (body) {
      return Array.isArray(body) ? body : (body.items || []);
    }, function () { return []; });  // the check is a courtesy: never block a submission on it
  }

  function offerMeToo(list, f) {
    var box = $("metoo");
    var mineToAdd = photos.length > 0 || !!f.description;
    $("metoo-list").innerHTML = list.slice(0, 3).map(function (r) {
      var dist = r.distance_m != null ? Math.round(r.distance_m) + " " + FR.t("meters_away") : "";
      var pic = r.thumb_url
        ? '<img class="metoo-thumb" src="' + FR.esc(r.thumb_url) + '" alt="' + FR.esc(FR.t("photos") + " " + r.code) + '">'
        : '<span class="metoo-thumb placeholder" role="img" aria-label="' + FR.esc(FR.t("metoo_no_photo")) + '">' +
          '<svg class="icon" aria-hidden="true" focusable="false"><use href="' + FR.esc(opts.sprite) + '#photo"></use></svg></span>';
      return '<div class="metoo-item" data-code="' + FR.esc(r.code) + '">' + pic + '<div class="metoo-body">' +
        '<p><a class="code" href="/track/' + encodeURIComponent(r.code) + '">' + FR.esc(r.code) + "</a> " +
        '<span class="badge ' + FR.esc(r.status) + '">' + FR.esc(FR.statusLabel(r.status)) + "</span> " +
        '<span class="muted small">' + FR.esc(dist) +
        (r.followers_count != null ? " · " + r.followers_count + " " + FR.esc(FR.t("supporters")) : "") + "</span></p>" +
        (r.description ? '<p class="small metoo-desc">' + FR.esc(r.description.slice(0, 200)) + "</p>" : "") +
        '<p class="small muted">' + FR.esc(FR.t("metoo_unit")) + ": " + FR.esc(r.unit ? r.unit.name : "—") + "</p>" +
        '<button type="button" class="btn primary small metoo-btn" data-code="' + FR.esc(r.code) + '">' + FR.esc(FR.t("metoo")) + "</button>" +
        "</div></div>";
    }).join("") + (mineToAdd ? '<label class="check metoo-add"><input type="checkbox" id="metoo-add" checked> ' +
      FR.esc(FR.t("metoo_add")) + "</label>" : "");
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
    box.focus();
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
    var add = $("metoo-add") && $("metoo-add").checked;
    var headers = { "X-Citizen-Token": deviceToken() };
    var path = API + "/reports/" + encodeURIComponent(code);
    var sent = add
      ? Promise.all(photos.map(function (p) { return p.ready; })).then(function () {
          var fd = new FormData();
          if (f.description) fd.append("note", f.description);
          photos.forEach(function (p, i) { fd.append("photos", p.blob, p.name || "photo" + i + ".jpg"); });
          $("progress-box").hidden = false;
          return FR.upload(path + "/additions", fd, headers, progress);
        })
      : FR.api(path + "/follow", { method: "POST", json: {}, headers: headers });
    sent.then(function () {
      $("metoo").hidden = true;
      $("progress-box").hidden = true;
      addMine({ code: code, token: null, at: new Date().toISOString(), category: selectedCategory().label });
      var box = $("result");
      box.className = "card ok";
      box.innerHTML = '<p id="metoo-done">' + FR.esc(FR.t(add ? "metoo_added" : "metoo_done")) + ' <a class="code" href="/track/' +
        encodeURIComponent(code) + '">' + FR.esc(code) + "</a></p>";
      box.hidden = false;
      box.focus();
      resetForm();
      showMine();
    }, function (err) {
      $("progress-box").hidden = true;
      $("metoo").hidden = true;
      showServerError(err);
    });
  }

  /* ---- submitting ---- */
  function onSubmit(ev) {
    ev.preventDefault();
    var f = fields(), cat = selectedCategory();
    var errors = validate(f, cat);
    if (Object.keys(errors).length) { showErrors(errors); return; }
    clearErrors();
    var btn = $("submit");
    btn.disabled = true;
    btn.textContent = FR.t("sending");
    var attributes = attributeValues();
    Promise.all(photos.map(function (p) { return p.ready; })).then(function () {
      return checkNearby(f);
    }).then(function (list) {
      if (list.length) { offerMeToo(list, f); return null; }
      $("metoo").hidden = true;
      // Saved first, then sent: a crash or a dead network between the two loses nothing.
      var rec = { key: FR.uuid(), token: deviceToken(), created: Date.now(), label: cat.label, fields: f,
                  attributes: attributes,
                  photos: photos.map(function (p) { return { blob: p.blob, name: p.name, type: p.blob.type }; }) };
      $("upload-progress").value = 0;
      $("progress-box").hidden = false;
      return idb.put(rec).then(function () { return send(rec, progress); }).then(function (res) {
        if (res.ok) { resetForm(); showResult(res.body); }
        else if (res.retry) { resetForm(); showSavedOffline(); }
        else showServerError(res.err);
        showMine();
        return refreshPending();
      });
    }).then(function () {
      btn.disabled = false;
      btn.textContent = FR.t("submit");
      $("progress-box").hidden = true;
    });
  }

  function init(o) {
    opts = Object.assign(opts, o || {});
    map = FRMap.create("map", { center: opts.center, zoom: 13 });
    // With street tiles the communes are not needed (the name under the pin comes from /locate):
    // they are fetched only when the tiles cannot be reached, or no tile server is configured.
    if (map._frTiles) map.once("fr:basemapfallback", function () { FRMap.addCommunes(map, null, null, { interactive: false }); });
    else FRMap.addCommunes(map, null, null, { interactive: false });
    map.on("click", function (e) { setPosition(e.latlng.lat, e.latlng.lng, null); });
    $("locate").addEventListener("click", locate);
    $("use-photo-position").addEventListener("click", usePhotoPosition);
    $("pin-here").addEventListener("click", function () { var c = map.getCenter(); setPosition(c.lat, c.lng, null); });
    $("take-photo").addEventListener("click", function () { $("photo-camera").click(); });
    $("choose-photo").addEventListener("click", function () { $("photo-files").click(); });
    $("photo-camera").addEventListener("change", function () { addFiles(this); });
    $("photo-files").addEventListener("change", function () { addFiles(this); });
    $("previews").addEventListener("click", function (e) {
      var btn = e.target.closest(".remove");
      if (btn) removePhoto(Number(btn.dataset.id));
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[name=category]"), function (input) {
      input.addEventListener("change", function () {
        $("photo-hint").hidden = !selectedCategory().photoRequired;
        skipNearby = false;
        setError("category", null);
        renderAttributes();
      });
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
    renderPreviews();
    showMine();
    refreshPending().then(function (list) { if (list.length && navigator.onLine) flushPending(); });
  }

  window.FRCitizen = { init: init, showMine: showMine, tokenFor: tokenFor, addMine: addMine, deviceToken: deviceToken,
                       flushPending: flushPending, pending: function () { return idb.all(); },
                       validPhone: validPhone, validEmail: validEmail };
})();
