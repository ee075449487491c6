// config-editor: small progressive enhancements; everything works without it.
(function () {
  "use strict";
  var msg = "You have unsaved changes in this section. Leave without saving?";

  function dirtyForms() {
    return document.querySelectorAll("form[data-dirty='true']");
  }

  // A form becomes dirty on the first edit; submitting it saves the edits.
  function markDirty(ev) {
    var form = ev.target && ev.target.form;
    if (!form || form.method !== "post" || form.classList.contains("validate-all")) return;
    if (ev.target.type === "file") return;
    form.setAttribute("data-dirty", "true");
  }
  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);
  document.addEventListener("submit", function (ev) {
    ev.target.removeAttribute("data-dirty");
  }, true);

  // Leaving the page (reload, typed URL, closing the tab).
  window.addEventListener("beforeunload", function (ev) {
    if (dirtyForms().length > 0) {
      ev.preventDefault();
      ev.returnValue = msg;
      return msg;
    }
  });

  // Boosted navigation replaces the page without unloading it: ask first
  // unless the request comes from the dirty form itself.
  document.addEventListener("htmx:confirm", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    var forms = dirtyForms();
    for (var i = 0; i < forms.length; i++) {
      if (elt && (forms[i] === elt || forms[i].contains(elt) || elt.form === forms[i])) return;
    }
    if (forms.length > 0 && !window.confirm(msg)) ev.preventDefault();
  });

  // Submit buttons inside a form also trigger htmx:confirm for the form.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button[type=submit]");
    if (b && b.form) b.form.removeAttribute("data-dirty");
  }, true);

  // After a swap of the main area, put keyboard focus where the news is:
  // the first invalid field, else the main region.
  document.addEventListener("htmx:afterSettle", function (ev) {
    var t = ev.detail && ev.detail.target;
    if (!t || t.id !== "main") return;
    var bad = t.querySelector("[aria-invalid='true']");
    if (bad) { bad.focus(); return; }
    t.focus({ preventScroll: true });
  });

  // Busy state for assistive technology while a request runs.
  document.addEventListener("htmx:beforeRequest", function () {
    document.body.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function () {
    document.body.removeAttribute("aria-busy");
  });
})();

// The navigation menu: open beside the content on wide screens, closed
// (a "Sections" button) on narrow ones.
(function () {
  "use strict";
  var mq = window.matchMedia && window.matchMedia("(max-width: 50rem)");
  function sync() {
    var m = document.getElementById("navmenu");
    if (m && mq) m.open = !mq.matches;
  }
  if (!mq) return;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", sync); else sync();
  if (mq.addEventListener) mq.addEventListener("change", sync);
  document.addEventListener("htmx:afterSettle", sync);
})();
