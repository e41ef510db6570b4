/* The check-in QR page: fetch a fresh code image every few seconds (the code changes every minute).
 * No inline script (CSP script-src 'self'). Without JavaScript the coordinator reloads the page. */
(function () {
  "use strict";
  var img = document.querySelector("img[data-qr-refresh]");
  if (!img) { return; }
  var base = img.getAttribute("src").split("?")[0];
  var every = (parseInt(img.getAttribute("data-qr-refresh"), 10) || 20) * 1000;
  var closed = document.querySelector("[data-qr-closed]");
  img.addEventListener("error", function () {
    if (closed) { closed.hidden = false; }
  });
  img.addEventListener("load", function () {
    if (closed) { closed.hidden = true; }
  });
  window.setInterval(function () {
    img.setAttribute("src", base + "?t=" + Date.now());
  }, every);
}());
