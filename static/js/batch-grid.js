// The batch grid (templates/service_requests/batches/): small helps on top of htmx.
// Without this file the grid still works: rows save themselves through htmx, or the whole page
// is one form when JavaScript is off.
(function () {
  "use strict";

  var sent = {}; // row element id -> {field name: value} as sent in its save
  var typedMeanwhile = {}; // row element id -> {field name: value} typed while the save was on its way
  var focusAfterRemove = null;

  function fieldsOf(row) {
    return row.querySelectorAll("input[name], select[name], textarea[name]");
  }

  function valueOf(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked ? "1" : "";
    return field.value;
  }

  function keyOf(field) {
    return field.type === "checkbox" || field.type === "radio" ? field.name + "=" + field.value : field.name;
  }

  function snapshot(row) {
    var values = {};
    Array.prototype.forEach.call(fieldsOf(row), function (field) {
      if (field.type !== "hidden") values[keyOf(field)] = valueOf(field);
    });
    return values;
  }

  // A row saving itself sends only its own fields, not the whole page's form.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var prefix = elt && elt.getAttribute && elt.getAttribute("data-row-prefix");
    if (!prefix) return;
    var data = event.detail.formData;
    var drop = [];
    data.forEach(function (value, name) {
      if (name.indexOf(prefix) !== 0 && name !== "csrf_token") drop.push(name);
    });
    drop.forEach(function (name) { data.delete(name); });
    sent[elt.id] = snapshot(elt);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    // The event fires on the target; the element that asked is in the request's config.
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-row-prefix") && sent[elt.id]) {
      // Whatever was typed after the save left would be replaced by the answer: keep it.
      var before = sent[elt.id];
      var now = snapshot(elt);
      var changed = {};
      var any = false;
      Object.keys(now).forEach(function (key) {
        if (key in before && now[key] !== before[key]) { changed[key] = now[key]; any = true; }
      });
      delete sent[elt.id];
      if (any) typedMeanwhile[elt.id] = changed;
    }
    if (elt && elt.hasAttribute && elt.hasAttribute("data-grid-remove")) {
      var target = event.detail.target;
      var next = target && (target.nextElementSibling || target.previousElementSibling);
      focusAfterRemove = next && next.classList.contains("liaison-grid-row") ? next.id : "grid-add";
      // The swap runs right after this event; focus once it is done.
      window.setTimeout(focusAfterRemoval, 0);
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.id) return;
    var pending = typedMeanwhile[elt.id];
    if (pending && elt.isConnected) {
      delete typedMeanwhile[elt.id];
      Array.prototype.forEach.call(fieldsOf(elt), function (field) {
        var key = keyOf(field);
        if (!(key in pending)) return;
        if (field.type === "checkbox" || field.type === "radio") field.checked = pending[key] === "1";
        else field.value = pending[key];
      });
      // Save again, with what was typed meanwhile.
      elt.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  // A row just added, a confirmation just shown or a row just kept says where the focus goes.
  document.addEventListener("htmx:afterSettle", function () {
    var marked = document.querySelector(".liaison-grid [data-focus]");
    if (!marked) return;
    var selector = marked.getAttribute("data-focus");
    marked.removeAttribute("data-focus");
    var focusable = marked.querySelector(selector);
    if (focusable) focusable.focus();
  });

  // After a row is removed, the focus moves to the row that took its place (or "Add row").
  function focusAfterRemoval() {
    var next = focusAfterRemove && document.getElementById(focusAfterRemove);
    focusAfterRemove = null;
    if (!next) return;
    var focusable = next.matches("button") ? next : next.querySelector("select") || next.querySelector("button");
    if (focusable) focusable.focus();
  }
})();
