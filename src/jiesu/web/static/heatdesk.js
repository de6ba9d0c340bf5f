// The heat map desk: a choropleth when the areas have polygons, else dots at the areas'
// centres sized by count (no map tiles: the city network may be closed); a slider walks
// through the time buckets, "play" animates them, and a switch shows the binned positions of
// the requests themselves. Clicking an area opens its requests. The table under the map has
// every number, so nothing depends on this script.
(function () {
  function init() {
    var el = document.getElementById("heat-chart");
    var src = document.getElementById("heat-data");
    if (!el || !src || !window.echarts) return;
    var d = JSON.parse(src.textContent);
    if (!d || !d.areas.length) { el.hidden = true; return; }
    var slider = document.getElementById("heat-slider");
    var when = document.getElementById("heat-when");
    var play = document.getElementById("heat-play");
    var dots = document.getElementById("heat-points");
    document.getElementById("heat-controls").hidden = false;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var polygons = d.polygons && d.polygons.features.length;
    if (polygons) echarts.registerMap("jiesu-areas", d.polygons);
    var byCode = {};
    d.areas.forEach(function (a) { byCode[a.code] = a; });

    function count(a, i) { return i === 0 ? a.n : (a.by_bucket[d.buckets[i - 1]] || 0); }

    function option(i) {
      var values = d.areas.map(function (a) { return count(a, i); });
      var max = Math.max(1, Math.max.apply(null, values));
      var visual = { min: 0, max: max, calculable: true, left: 0, bottom: 0,
                     inRange: { color: ["#fff5eb", "#fd8d3c", "#a63603"] } };
      if (dots.checked) {
        var pmax = Math.max(1, Math.max.apply(null, d.points.map(function (p) { return p.n; })));
        return {
          animation: false, tooltip: { formatter: function (p) { return p.value[2]; } },
          visualMap: Object.assign({}, visual, { max: pmax, dimension: 2 }),
          xAxis: { type: "value", scale: true, show: false }, yAxis: { type: "value", scale: true, show: false },
          series: [{ type: "scatter", symbolSize: 7, data: d.points.map(function (p) { return [p.lon, p.lat, p.n]; }) }]
        };
      }
      if (polygons) {
        return {
          animation: false, tooltip: { formatter: function (p) { var a = byCode[p.name]; return a ? a.name + ": " + p.value : p.name; } },
          visualMap: visual,
          series: [{ type: "map", map: "jiesu-areas", roam: true, label: { show: false },
                     data: d.areas.map(function (a) { return { name: a.code, value: count(a, i) }; }) }]
        };
      }
      var placed = d.areas.filter(function (a) { return a.lat !== null && a.lon !== null; });
      return {
        animation: false, grid: { left: 8, right: 8, top: 8, bottom: 40 },
        tooltip: { formatter: function (p) { return p.name + ": " + p.value[2]; } },
        visualMap: Object.assign({}, visual, { dimension: 2 }),
        xAxis: { type: "value", scale: true, show: false }, yAxis: { type: "value", scale: true, show: false },
        series: [{
          type: "scatter",
          // Area, not radius, grows with the count.
          symbolSize: function (v) { return 6 + 34 * Math.sqrt(v[2] / max); },
          data: placed.map(function (a) { return { name: a.name, code: a.code, value: [a.lon, a.lat, count(a, i)] }; }),
          label: { show: placed.length <= 40, formatter: "{b}", position: "right", fontSize: 11 }
        }]
      };
    }

    function show() {
      var i = parseInt(slider.value, 10);
      when.textContent = i === 0 ? el.dataset.all : d.buckets[i - 1];
      chart.setOption(option(i), true);
    }
    var timer = null;
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; return; }
      timer = setInterval(function () {
        slider.value = (parseInt(slider.value, 10) % d.buckets.length) + 1;
        show();
        if (parseInt(slider.value, 10) === d.buckets.length) { clearInterval(timer); timer = null; }
      }, 700);
    });
    slider.addEventListener("input", show);
    dots.addEventListener("change", show);
    chart.on("click", function (e) {
      var code = (e.data && e.data.code) || (polygons && e.name);
      if (code) window.location = el.dataset.drill.replace("{code}", encodeURIComponent(code));
    });
    window.addEventListener("resize", function () { chart.resize(); });
    show();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
