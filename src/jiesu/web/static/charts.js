// Draws every <div class="chart" data-source="ID" data-kind="line|bar"> from the JSON pairs
// [[label, value], …] in <script id="ID">. The same numbers are always in a table on the page,
// so the chart adds to the page and nothing is lost without JavaScript.
(function () {
  function draw(el) {
    var src = document.getElementById(el.dataset.source);
    if (!src || !window.echarts) return;
    var pairs = JSON.parse(src.textContent);
    var chart = echarts.init(el, null, { renderer: "svg" });
    var kind = el.dataset.kind || "line";
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 16, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: pairs.map(function (p) { return p[0]; }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: kind, data: pairs.map(function (p) { return p[1]; }), itemStyle: { color: "#0b5cad" } }]
    });
    if (el.dataset.drill) {
      chart.on("click", function (e) { window.location = el.dataset.drill.replace("{label}", encodeURIComponent(e.name)); });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function all() { document.querySelectorAll(".chart[data-source]").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();
