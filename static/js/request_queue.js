// The request queue: "Select all on this page" ticks (or unticks) every row without a reload.
// Without JavaScript the link reloads the page with every row ticked.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-select-all]");
    if (!link) return;
    var formId = link.getAttribute("data-select-all");
    var boxes = document.querySelectorAll('input[type="checkbox"][form="' + formId + '"]');
    if (!boxes.length) return;
    event.preventDefault();
    var allTicked = Array.prototype.every.call(boxes, function (box) { return box.checked; });
    Array.prototype.forEach.call(boxes, function (box) { box.checked = !allTicked; });
  });
})();
