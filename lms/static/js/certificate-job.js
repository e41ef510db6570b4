// Live progress of a bulk certificate run: polls the job's small JSON endpoint and updates
// the <progress> bar and the counts; reloads the page once the run has finished so the
// server shows the result (ZIP link, failures and the retry button). Without JavaScript
// the page offers a plain reload link instead.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box || box.getAttribute("data-finished") === "true") { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-bar");
  var delay = 800;

  function show(p) {
    bar.max = p.total;
    bar.value = p.done + p.failed;
    bar.textContent = p.percent + "%";
    ["percent", "done", "failed", "remaining"].forEach(function (name) {
      var el = box.querySelector('[data-field="' + name + '"]');
      if (el) { el.textContent = name === "percent" ? p.percent + "%" : String(p[name]); }
    });
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (p) {
        show(p);
        if (p.finished) { window.location.reload(); return; }
        delay = Math.min(delay * 1.25, 4000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, delay);
}());
