/* CPO Portal: the little behaviour the pages need, as one static file (the Content-Security-Policy
 * allows no inline script or event handler; docs/security.md). Loaded in <head> without `defer`:
 * the listeners below are on `document`, so they are in place before the first element is parsed
 * and catch a choice made however early; every page also works without JavaScript. */
(function () {
  "use strict";

  // <form data-confirm="Delete this site?">: ask before sending.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // <select data-description-target="ID">: the element ID shows the description of the option
  // chosen, taken from the page's hidden list <li data-role="VALUE"> (rendered by the server).
  function showDescription(select) {
    var target = document.getElementById(select.getAttribute("data-description-target"));
    if (!target) return;
    var items = document.querySelectorAll(".role-descriptions [data-role]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-role") === select.value) {
        if (target.textContent !== items[i].textContent) target.textContent = items[i].textContent;
        return;
      }
    }
  }

  function isDescribed(element) {
    return element && element.matches && element.matches("select[data-description-target]");
  }

  function onChoice(event) {
    if (isDescribed(event.target)) showDescription(event.target);
  }

  document.addEventListener("change", onChoice, true);
  document.addEventListener("input", onChoice, true);

  // Re-sync from the selects' current values: once the page is parsed (a choice may have been
  // restored by the browser's form restore), when it comes back from the back/forward cache,
  // and after htmx swapped content in.
  function syncAll() {
    var selects = document.querySelectorAll("select[data-description-target]");
    for (var i = 0; i < selects.length; i++) showDescription(selects[i]);
  }

  // <button data-copy="ID">: copy the value (or text) of element ID to the clipboard, say so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { source.select && source.select(); });
    } else if (source.select) {  // plain http: select it and use the older command
      source.select();
      if (document.execCommand("copy")) done();
    }
  });

  document.addEventListener("DOMContentLoaded", syncAll);
  window.addEventListener("pageshow", syncAll);
  document.addEventListener("htmx:afterSettle", syncAll);
})();
