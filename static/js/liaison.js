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

  // Forms that must be sent once (submitting a batch): disable the button after the first click.
  // The server files a batch once anyway (idempotency key); this only spares a second request.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-submit-once")) return;
    if (form.getAttribute("data-submitting") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "true");
    form.querySelectorAll('button[type="submit"]').forEach(function (button) {
      button.disabled = true;
    });
  });
  // Coming back with the browser's Back button shows the page as it was left: enable it again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.querySelectorAll('button[type="submit"]').forEach(function (button) {
        button.disabled = false;
      });
    });
  });
})();
