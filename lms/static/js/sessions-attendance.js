/* The attendance screen: filter the rows while typing in the search box. Without JavaScript the
 * box is a GET form (?q=) that the server filters; hidden rows keep their marks either way. */
(function () {
  "use strict";
  var box = document.querySelector("input[data-live-filter]");
  if (!box) { return; }
  var body = document.querySelector(box.getAttribute("data-live-filter"));
  var count = document.querySelector(box.getAttribute("data-live-count"));
  if (!body) { return; }
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-search]"));
  function fold(s) { return (s || "").toLowerCase().replace(/\s+/g, " ").trim(); }
  function apply() {
    var q = fold(box.value);
    var shown = 0;
    rows.forEach(function (tr) {
      var ok = !q || tr.getAttribute("data-search").indexOf(q) !== -1;
      tr.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) {
      count.textContent = q ? count.getAttribute("data-template").replace("{shown}", shown)
        .replace("{total}", rows.length) : "";
    }
  }
  box.addEventListener("input", apply);
}());
