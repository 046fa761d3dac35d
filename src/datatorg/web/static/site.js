/* Datatorg: small enhancements; every page works without them. */
(function () {
  "use strict";
  // The main menu folds behind a button on narrow screens.
  var toggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("main-menu");
  if (toggle && menu) {
    var narrow = window.matchMedia("(max-width: 48rem)");
    var apply = function () {
      if (narrow.matches) {
        toggle.hidden = false;
        var open = toggle.getAttribute("aria-expanded") === "true";
        menu.classList.toggle("is-closed", !open);
      } else {
        toggle.hidden = true;
        menu.classList.remove("is-closed");
      }
    };
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
      apply();
    });
    narrow.addEventListener("change", apply);
    apply();
  }
  // The search filters stand open beside the results on wide screens, folded on phones.
  var panel = document.querySelector("details.filter-panel");
  if (panel) {
    var wide = window.matchMedia("(min-width: 48.01rem)");
    var chosen = panel.hasAttribute("open");
    var place = function () { if (wide.matches) { panel.open = true; } else { panel.open = chosen; } };
    wide.addEventListener("change", place);
    place();
  }
  // Copy buttons: <button data-copy="element-id">; the status is announced politely.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById(button.getAttribute("data-status") || "");
      if (!source) { return; }
      var text = source.textContent || "";
      var done = function () { if (status) { status.textContent = button.getAttribute("data-done") || ""; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(source); });
      } else {
        select(source);
        try { document.execCommand("copy"); done(); } catch (e) { /* selected for the reader to copy */ }
      }
    });
  });
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
})();
