/* Show the "Print" button of a printable page (hidden without JavaScript: the browser's own menu prints). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("button[data-print]"), function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
}());
