// "Data saya": follows the copy being built. Polls the request's small JSON endpoint, updates the
// <progress> bar and reloads the page once the copy is ready (or failed), so the server shows the
// download link. Without JavaScript the page offers a plain reload link instead.
(function () {
  "use strict";
  var box = document.getElementById("export-progress");
  if (!box || box.getAttribute("data-finished") === "true") { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("export-bar");
  var percent = box.querySelector('[data-field="percent"]');
  var delay = 800;

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (p) {
        bar.max = p.total;
        bar.value = p.progress;
        bar.textContent = p.percent + "%";
        if (percent) { percent.textContent = p.percent + "%"; }
        if (p.finished) { window.location.reload(); return; }
        delay = Math.min(delay * 1.25, 4000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, delay);
}());
