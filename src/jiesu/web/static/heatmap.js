// The street heat map: one point per street at its coordinates (no map tiles — the city
// network may be closed), sized by its count; clicking a point opens that street's requests.
// The table under the map carries the same numbers, so nothing is lost without JavaScript.
(function () {
  function init() {
    var el = document.getElementById("heat-map");
    var src = document.getElementById("heat-points");
    if (!el || !src || !window.echarts) return;
    var points = JSON.parse(src.textContent);
    if (!points.length) { el.hidden = true; return; }
    var max = Math.max.apply(null, points.map(function (p) { return p.value[2]; }));
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 8, bottom: 8 },
      tooltip: { formatter: function (p) { return p.name + ": " + p.value[2]; } },
      xAxis: { type: "value", scale: true, show: false },
      yAxis: { type: "value", scale: true, show: false },
      series: [{
        type: "scatter",
        data: points,
        // Area, not radius, grows with the count: a street with four times the requests
        // looks four times as big, not sixteen.
        symbolSize: function (v) { return 6 + 34 * Math.sqrt(v[2] / max); },
        itemStyle: { color: "#c0392b", opacity: 0.6 },
        label: { show: true, formatter: "{b}", position: "right", fontSize: 11 }
      }]
    });
    chart.on("click", function (e) {
      if (e.data && e.data.code) window.location = el.dataset.drill.replace("{code}", encodeURIComponent(e.data.code));
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
