/* Mentor assignment page: a "select all" box for the outlet checkboxes (hidden without JavaScript). */
(function () {
  "use strict";
  document.querySelectorAll("input[data-check-all]").forEach(function (all) {
    var name = all.getAttribute("data-check-all");
    var boxes = function () { return document.querySelectorAll("input[type=checkbox][name='" + name + "']"); };
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
    });
  });
}());
