"use strict";
(function () {
  var search = document.getElementById("search");
  var count = document.getElementById("count");
  var nodes = Array.prototype.slice.call(document.querySelectorAll("g.node"));
  var cards = Array.prototype.slice.call(document.querySelectorAll("section.card"));
  var edges = Array.prototype.slice.call(document.querySelectorAll(".edge[data-to], .edge-label"));
  var byId = {};
  nodes.forEach(function (n) { byId[n.getAttribute("data-id")] = n; });

  // filter shows the bundles whose text holds every word of the search.
  function filter() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = {};
    var n = 0;
    nodes.forEach(function (el) {
      var text = el.getAttribute("data-search");
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      el.classList.toggle("hidden", !ok);
      if (ok) { shown[el.getAttribute("data-id")] = true; n++; }
    });
    cards.forEach(function (el) { el.classList.toggle("hidden", !shown[el.getAttribute("data-id")]); });
    edges.forEach(function (el) {
      var from = el.getAttribute("data-from");
      el.classList.toggle("hidden", !shown[el.getAttribute("data-to")] || (from !== "" && !shown[from]));
    });
    count.textContent = words.length ? n + " of " + nodes.length + " bundles" : nodes.length + " bundles";
  }

  // select marks a bundle's node, card and edges, and brings the card or
  // the node into view.
  function select(id, toCard) {
    nodes.forEach(function (el) { el.classList.toggle("selected", el.getAttribute("data-id") === id); });
    cards.forEach(function (el) { el.classList.toggle("selected", el.getAttribute("data-id") === id); });
    edges.forEach(function (el) {
      el.classList.toggle("highlight", el.getAttribute("data-to") === id || el.getAttribute("data-from") === id);
    });
    var target = toCard ? document.getElementById("card-" + id) : byId[id];
    if (target && target.scrollIntoView) { target.scrollIntoView({ block: "nearest" }); }
  }

  search.addEventListener("input", filter);
  nodes.forEach(function (el) {
    var id = el.getAttribute("data-id");
    el.addEventListener("click", function () { select(id, true); });
    el.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(id, true); }
    });
  });
  cards.forEach(function (el) {
    var id = el.getAttribute("data-id");
    el.querySelector("h2").addEventListener("click", function () { select(id, false); });
  });
  Array.prototype.slice.call(document.querySelectorAll("a[data-select]")).forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      select(a.getAttribute("data-select"), true);
    });
  });
  filter();
})();
