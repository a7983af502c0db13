// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  // After htmx swaps in an error message, move focus to it so screen readers announce it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    var alert = target.querySelector('[role="alert"]');
    if (alert && event.detail.xhr && event.detail.xhr.status >= 400) {
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    }
  });
})();
