// The intake desk's keys: Alt+1..3 take a suggested category, Ctrl+Enter creates the work
// order, Alt+A opens the direct answer. Clicking a suggestion or the place found fills the
// field. Without this file every field can still be typed and the form still submits.
(function () {
  function fill(id, value) {
    var el = document.getElementById(id);
    if (!el) return;
    el.value = value;
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("click", function (e) {
    var t = e.target.closest(".pick-category, .pick-area");
    if (!t) return;
    fill(t.classList.contains("pick-area") ? "f-area" : "f-category", t.dataset.code);
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey && /^[1-3]$/.test(e.key)) {
      var b = document.querySelector('.pick-category[data-key="' + e.key + '"]');
      if (b) { fill("f-category", b.dataset.code); e.preventDefault(); }
    } else if (e.ctrlKey && e.key === "Enter") {
      var s = document.getElementById("submit-order");
      if (s) { s.click(); e.preventDefault(); }
    } else if (e.altKey && (e.key === "a" || e.key === "A")) {
      var box = document.getElementById("answer-box");
      if (box) { box.open = true; document.getElementById("f-answer").focus(); e.preventDefault(); }
    }
  });
})();
