/* Staff console helpers: searchable unit pickers, the due-date picker that knows the working calendar. */
(function () {
  "use strict";

  // "Điện lực" matches "dien luc": Vietnamese without its marks, lower case.
  function fold(s) {
    return String(s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
      .replace(/Đ/g, "D").toLowerCase();
  }

  function unitSearch(input) {
    var select = document.getElementById(input.dataset.for);
    if (!select) return;
    input.addEventListener("input", function () {
      var words = fold(input.value).split(/\s+/).filter(Boolean), first = null, shown = 0;
      Array.prototype.forEach.call(select.querySelectorAll("option"), function (opt) {
        if (!opt.value) return;
        var text = fold(opt.textContent + " " + opt.value);
        var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
        opt.hidden = !hit;
        opt.disabled = !hit;  // hidden options stay out of the keyboard's reach too
        if (hit) { shown++; if (!first) first = opt; }
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (g) {
        g.hidden = !g.querySelector("option:not([hidden])");
      });
      if (words.length && first && (select.selectedIndex < 1 || select.options[select.selectedIndex].hidden)) {
        select.value = first.value;  // the best match is chosen; the list still shows the rest
      }
      select.setAttribute("data-matches", String(shown));
    });
  }

  function ddmmyyyy(iso) {
    var p = iso.split("-");
    return p[2] + "/" + p[1] + "/" + p[0];
  }

  function nextWorkingDay(iso, off) {
    var d = new Date(iso + "T12:00:00Z");
    for (var i = 0; i < 60; i++) {
      d.setUTCDate(d.getUTCDate() + 1);
      var s = d.toISOString().slice(0, 10);
      if (off.indexOf(s) < 0) return s;
    }
    return null;
  }

  // A non-working day is refused at once, with the next working day offered in one click.
  function duePicker(input) {
    var off = (input.dataset.daysOff || "").split(",").filter(Boolean);
    var msg = document.getElementById(input.id + "-msg");
    function check() {
      msg.textContent = "";
      input.setCustomValidity("");
      var v = input.value;
      if (!v || off.indexOf(v) < 0) return;
      var next = nextWorkingDay(v, off);
      var day = new Date(v + "T12:00:00Z").getUTCDay();
      var text = FR.t("not_working_day").replace("{day}", ddmmyyyy(v))
        .replace("{why}", FR.t(day === 0 || day === 6 ? "weekend" : "day_off"))
        .replace("{next}", next ? ddmmyyyy(next) : "");
      input.setCustomValidity(text);
      msg.textContent = text + " ";
      if (next) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "btn small";
        b.id = input.id + "-use-next";
        b.textContent = FR.t("use_day").replace("{day}", ddmmyyyy(next));
        b.addEventListener("click", function () { input.value = next; check(); input.focus(); });
        msg.appendChild(b);
      }
    }
    input.addEventListener("change", check);
    input.addEventListener("input", check);
    check();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input.unit-search"), unitSearch);
    Array.prototype.forEach.call(document.querySelectorAll("input[type=date][data-days-off]"), duePicker);
  });
  window.FRConsole = { fold: fold };
})();
