// The map picker: the city's districts and streets at their coordinates (no map tiles — the
// city network may be closed); clicking a point chooses it in the area list, which remains
// the way to choose without JavaScript.
(function () {
  function init() {
    var el = document.getElementById("area-map");
    var data = document.getElementById("area-points");
    var select = document.getElementById("f-area");
    if (!el || !data || !select || !window.echarts) return;
    var points = JSON.parse(data.textContent);
    var chart = null;
    function draw() {
      if (chart) return;
      chart = echarts.init(el, null, { renderer: "canvas" });
      var series = ["district", "street"].map(function (level) {
        return {
          name: level, type: "scatter",
          symbolSize: level === "district" ? 16 : 7,
          data: points.filter(function (p) { return p.level === level; }).map(function (p) {
            return { name: p.name, value: p.value, code: p.code };
          }),
          label: { show: level === "district", formatter: "{b}", position: "right" }
        };
      });
      chart.setOption({
        animation: false,
        grid: { left: 8, right: 8, top: 8, bottom: 8 },
        tooltip: { formatter: function (p) { return p.name; } },
        xAxis: { type: "value", scale: true, show: false },
        yAxis: { type: "value", scale: true, show: false },
        series: series
      });
      chart.on("click", function (e) {
        select.value = e.data.code;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        select.focus();
      });
    }
    var details = el.closest("details");
    if (details) details.addEventListener("toggle", function () { if (details.open) draw(); });
    else draw();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
