// Live sensor page: poll the page's JSON twin and update the readings and the map dots.
// The page is complete without this script; it only keeps the numbers fresh.
(function () {
  "use strict";
  var status = document.querySelector("[data-live-url]");
  if (!status || !window.fetch) { return; }
  var url = status.getAttribute("data-live-url");
  var fills = { good: "#1b7a3a", fair: "#a85d00", poor: "#b3261e", none: "#3b5b8c" };
  function cell(entity, attr) {
    var cells = document.querySelectorAll("td[data-attr]");
    for (var i = 0; i < cells.length; i++) {
      if (cells[i].getAttribute("data-entity") === entity &&
          cells[i].getAttribute("data-attr") === attr) { return cells[i]; }
    }
    return null;
  }
  function update(board) {
    board.devices.forEach(function (d) {
      Object.keys(d.shown).forEach(function (name) {
        var c = cell(d.id, name);
        if (c && c.textContent !== d.shown[name]) { c.textContent = d.shown[name]; }
      });
      var t = cell(d.id, "observedAt");
      if (t && d.observedLocal) { t.textContent = d.observedLocal; }
      var dots = document.querySelectorAll("circle[data-entity]");
      for (var i = 0; i < dots.length; i++) {
        if (dots[i].getAttribute("data-entity") === d.id) {
          dots[i].setAttribute("fill", fills[d.level] || fills.none);
        }
      }
    });
    status.textContent = status.getAttribute("data-updated-text") + " " +
      new Date().toLocaleTimeString();
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (board) { if (board) { update(board); } })
      .catch(function () { /* try again at the next tick */ });
  }
  window.setInterval(poll, 10000);
})();
