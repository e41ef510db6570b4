/* The session form: offer only the certificate designs whose steps include the chosen step.
 * Each design option carries data-stages (empty: every step). Without JavaScript every design is
 * listed with its steps in the label, and the server refuses a design that does not fit the step. */
(function () {
  "use strict";
  var stage = document.getElementById("stage_key");
  var cert = document.getElementById("certificate_kind");
  if (!stage || !cert) { return; }
  function fits(opt) {
    var stages = (opt.getAttribute("data-stages") || "").split(" ").filter(Boolean);
    return !opt.value || stages.length === 0 || stages.indexOf(stage.value) !== -1;
  }
  function update() {
    var firstFit = null;
    Array.prototype.forEach.call(cert.options, function (opt) {
      var ok = fits(opt);
      opt.hidden = !ok;
      opt.disabled = !ok;
      if (ok && opt.value && firstFit === null) { firstFit = opt; }
    });
    var current = cert.options[cert.selectedIndex];
    if (current && !fits(current)) {
      cert.value = firstFit ? firstFit.value : "";
    }
  }
  stage.addEventListener("change", update);
  update();
}());
