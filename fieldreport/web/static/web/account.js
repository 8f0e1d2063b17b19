/* Citizen sign-in by phone: the bearer session kept on this device, sent with every API call. */
(function () {
  "use strict";
  var KEY = "fr.session", MINE = "fr.mine", api = FR.api;

  function session() {
    try {
      var s = JSON.parse(localStorage.getItem(KEY) || "null");
      if (s && s.token && (!s.expires_at || new Date(s.expires_at) > new Date())) return s;
    } catch (e) { /* a damaged entry is the same as none */ }
    return null;
  }
  function signOut() { localStorage.removeItem(KEY); }

  // Every /api/v1 call of the citizen pages carries the session, whether it goes by fetch
  // (FR.api) or by XMLHttpRequest for its upload progress (FR.upload); a refused one ends it.
  function withSession(path, headers) {
    var s = session();
    if (!s || String(path).indexOf("/api/v1/") !== 0 || (headers && headers.Authorization)) return null;
    return Object.assign({ "Authorization": "Bearer " + s.token }, headers || {});
  }
  function forgetRefused(sent) {
    return function (err) {
      // The session itself was refused (expired or revoked): forget it. Other 401s (a wrong
      // citizen token) say nothing about the session.
      if (sent && err && err.status === 401 && err.problem && (err.problem.code === "unauthorized" || err.problem.code === "citizen_token_required")) signOut();
      throw err;
    };
  }
  FR.api = function (path, opts) {
    opts = opts || {};
    var headers = withSession(path, opts.headers);
    if (headers) opts.headers = headers;
    return api(path, opts).catch(forgetRefused(!!headers));
  };
  var upload = FR.upload;
  FR.upload = function (path, body, headers, onProgress) {
    var signed = withSession(path, headers);
    return upload(path, body, signed || headers, onProgress).catch(forgetRefused(!!signed));
  };

  function deviceTokens() {  // the citizen tokens this browser holds: they prove its reports
    try { return JSON.parse(localStorage.getItem(MINE) || "[]").map(function (m) { return m.token; }).filter(Boolean); }
    catch (e) { return []; }
  }

  function $(id) { return document.getElementById(id); }
  function say(text, ok) {
    var el = $("signin-msg");
    el.textContent = text;
    el.className = "flash " + (ok ? "ok" : "error");
    el.hidden = false;
  }

  function showMine() {
    return FR.api("/api/v1/me/reports").then(function (list) {
      $("mine-card").hidden = false;
      $("mine").innerHTML = list.length ? list.map(function (r) {
        return '<li><a class="code" href="/track/' + encodeURIComponent(r.code) + '">' + FR.esc(r.code) +
          '</a> <span class="badge ' + FR.esc(r.status) + '">' + FR.esc(FR.statusLabel(r.status)) + "</span>" +
          '<span class="muted small"> ' + FR.esc((r.category && r.category.name) || "") + " · " +
          FR.esc(FR.fmtDateTime(r.created_at)) + "</span></li>";
      }).join("") : '<li class="muted">' + FR.esc(FR.t("no_reports")) + "</li>";
    }, function () {});
  }

  function render() {
    var s = session();
    $("signed-in").hidden = !s;
    $("otp-form").hidden = !!s;
    $("code-form").hidden = true;
    if (s) { $("who").textContent = s.phone; showMine(); } else { $("mine-card").hidden = true; }
  }

  function initPage() {
    var phone = null;
    $("otp-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      phone = $("phone").value.trim();
      api("/api/v1/citizen/otp", { method: "POST", json: { phone: phone } }).then(function () {
        $("code-form").hidden = false;
        say(FR.t("otp_sent"), true);
        $("otp").focus();
      }, function (err) { say(FR.problemText(err)); });
    });
    $("code-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("/api/v1/citizen/session", { method: "POST",
        json: { phone: phone, code: $("otp").value.trim(), citizen_tokens: deviceTokens() } }).then(function (r) {
        localStorage.setItem(KEY, JSON.stringify({ token: r.access_token, expires_at: r.expires_at,
                                                   phone: r.citizen.phone }));
        say(FR.t("signed_in_ok"), true);
        render();
      }, function (err) { say(FR.problemText(err)); });
    });
    $("sign-out").addEventListener("click", function () {
      FR.api("/api/v1/citizen/session", { method: "DELETE" }).then(signOut, signOut).then(render);
    });
    render();
  }

  window.FRAccount = { session: session, signOut: signOut, initPage: initPage, deviceTokens: deviceTokens };
})();
