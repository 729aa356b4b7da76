// Allocation page: editing a target ticks its "keep" box, so Rebalance keeps it.
(function () {
  "use strict";
  document.querySelectorAll("[data-node-input]").forEach(function (input) {
    input.addEventListener("input", function () {
      var box = document.querySelector('[data-fix="' + input.dataset.nodeInput + '"]');
      if (box) { box.checked = true; }
    });
  });
})();
