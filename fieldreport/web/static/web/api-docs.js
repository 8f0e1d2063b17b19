/* Swagger UI on /api/v1/docs: the spec URL and options come from the script tag's data-*
   attributes (no inline script, see fieldreport/headers.py). */
(function () {
  "use strict";
  var tag = document.getElementById("api-docs");
  var config = Object.assign({ url: tag.dataset.specUrl, dom_id: "#swagger-ui-container" },
                             JSON.parse(tag.dataset.config || "{}"));
  window.addEventListener("load", function () { window.ui = window.SwaggerUIBundle(config); });
})();
