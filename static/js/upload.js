// Upload page: show how much of the file has been sent (htmx's upload progress events).
// Without JavaScript the form posts normally and the browser shows its own progress.
(function () {
  "use strict";

  function progressFor(element) {
    var form = element && element.closest ? element.closest("form[data-upload-progress]") : null;
    return form ? document.getElementById(form.getAttribute("data-upload-progress")) : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var box = progressFor(event.target);
    if (!box) return;
    var bar = box.querySelector("progress");
    if (bar) bar.removeAttribute("value");
    box.hidden = false;
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var box = progressFor(event.target);
    if (!box || !event.detail.lengthComputable || !event.detail.total) return;
    var bar = box.querySelector("progress");
    if (bar) bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var box = progressFor(event.target);
    if (box) box.hidden = true;
  });
})();
