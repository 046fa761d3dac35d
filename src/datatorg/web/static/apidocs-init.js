/* Starts Swagger UI on the API documentation page (an external file: the CSP forbids inline code). */
(function () {
  "use strict";
  var start = function () {
    var node = document.getElementById("swagger-ui");
    if (!node || typeof window.SwaggerUIBundle !== "function") { return; }
    window.SwaggerUIBundle({
      url: node.getAttribute("data-url"),
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      tryItOutEnabled: false,
      validatorUrl: null
    });
  };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
