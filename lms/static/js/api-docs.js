// The API documentation page (/api/v1/docs): Redoc renders the app's own OpenAPI document.
(function () {
  var el = document.getElementById("redoc");
  if (!el || !window.Redoc) { return; }
  window.Redoc.init(el.getAttribute("data-spec-url"), {
    hideDownloadButton: false,
    expandResponses: "200",
    disableSearch: false,
    nativeScrollbars: true,
    // darker than Redoc's defaults, for WCAG AA contrast (tests/test_markup.py runs axe on this page)
    theme: {
      colors: { primary: { main: "#1d4f91" }, text: { primary: "#222222", secondary: "#4a4a4a" },
                success: { main: "#1b6e35" }, warning: { main: "#8a5300" }, error: { main: "#a11c12" },
                http: { get: "#1b6e35", post: "#1d4f91", delete: "#a11c12" } },
      extensionsHook: function (name) {
        return name === "UnderlinedHeader" ? "color: #4a4e50;" : "";
      },
      typography: { code: { color: "#9b1c1c", backgroundColor: "#f3f4f5" }, links: { color: "#1d4f91" } },
      sidebar: { textColor: "#222222", activeTextColor: "#1d4f91" },
      rightPanel: { backgroundColor: "#263238", textColor: "#ffffff" }
    }
  }, el, labelSelects);

  // Redoc's drop-downs (content type, example) come without a name: give each one, also to those it
  // renders later, so a screen reader says what it chooses (axe: select-name)
  function labelSelects() {
    var selects = el.querySelectorAll("select:not([aria-label])");
    for (var i = 0; i < selects.length; i++) {
      var s = selects[i];
      if (s.id && document.querySelector("label[for='" + s.id + "']")) { continue; }
      s.setAttribute("aria-label", el.getAttribute("data-select-label") || "Content type");
    }
  }
  if (window.MutationObserver) {
    new MutationObserver(labelSelects).observe(el, { childList: true, subtree: true });
  }
})();
