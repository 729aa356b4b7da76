// Period picker and tree drill-down. Plain JS, progressive: without it the
// picker still submits and the tree still shows as a table.
(function () {
  "use strict";

  function initPicker() {
    var select = document.querySelector("select[data-custom-toggle]");
    var range = document.querySelector(".custom-range");
    if (!select || !range) { return; }
    select.addEventListener("change", function () {
      range.hidden = select.value !== "custom";
    });
  }

  function panel() { return document.getElementById("node-panel"); }

  function loadNode(tree, key) {
    var chart = document.querySelector('.tree-chart[data-tree="' + tree + '"]');
    var target = panel();
    if (!chart || !target) { return; }
    var url = chart.dataset.nodeUrl.replace("__key__", encodeURIComponent(key));
    target.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        target.innerHTML = html;
        target.dataset.node = key;
        if (window.kpiDrawCharts) { window.kpiDrawCharts(); }
      })
      .catch(function (error) {
        target.textContent = (target.dataset.error || "Could not load this node") + " (" + error.message + ")";
      })
      .finally(function () { target.removeAttribute("aria-busy"); });
  }

  function bindTrees() {
    document.querySelectorAll(".tree-chart").forEach(function (div) {
      if (div.dataset.bound || !div.on) { return; }
      div.on("plotly_click", function (event) {
        var point = event && event.points && event.points[0];
        if (point && point.customdata) { loadNode(div.dataset.tree, point.customdata); }
      });
      div.dataset.bound = "1";
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".node-link");
    if (button) { loadNode(button.dataset.tree, button.dataset.node); }
  });

  function init() {
    initPicker();
    bindTrees();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
