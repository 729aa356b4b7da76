// Draw every plotly figure embedded as JSON in <script type="application/json" data-plotly="ID">.
(function () {
  function draw() {
    document.querySelectorAll("script[data-plotly]").forEach(function (node) {
      var target = document.getElementById(node.dataset.plotly);
      if (!target || target.dataset.drawn) { return; }
      var figure = JSON.parse(node.textContent);
      var config = Object.assign({ responsive: true, displaylogo: false }, figure.config || {});
      window.Plotly.newPlot(target, figure.data, figure.layout || {}, config);
      target.dataset.drawn = "1";
    });
  }
  window.kpiDrawCharts = draw;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
