/* What used to be inline event handlers and javascript: links, which the Content-Security-Policy
   forbids (script-src 'self'): a control with data-autosubmit submits its form when it changes; a
   form with data-confirm="question" is sent only once the user confirms; a link with data-back goes
   back in history (its href is the way without JavaScript); data-print prints the page. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.form && el.hasAttribute("data-autosubmit")) el.form.submit();
  });
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-back], [data-print]") : null;
    if (!el) return;
    if (el.hasAttribute("data-print")) {
      window.print();
    } else if (window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
})();

/* Step forms (form[data-validate], issue 19): the browser checks the constraints the server put
   on each field from the form's schema (required, min, max, pattern ...) before anything is sent,
   and says what is wrong in the page's language: the message for each validity state comes from
   the field's data-error-<state> attribute (the server's own text), set with setCustomValidity
   and written into the field's error element (aria-describedby). A refused submit that comes back
   from the server has its error summary focused, so the page does not open at its top. */
(function () {
  "use strict";
  var STATES = ["valueMissing", "badInput", "typeMismatch", "patternMismatch", "tooShort", "tooLong",
                "rangeUnderflow", "rangeOverflow", "stepMismatch"];

  function attribute(state) {
    return "data-error-" + state.replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); });
  }

  function messageFor(el) {
    el.setCustomValidity("");
    if (el.validity.valid) return "";
    for (var i = 0; i < STATES.length; i++) {
      if (el.validity[STATES[i]] && el.getAttribute(attribute(STATES[i]))) return el.getAttribute(attribute(STATES[i]));
    }
    return el.validationMessage;
  }

  function show(el, text) {
    el.setCustomValidity(text);
    el.setAttribute("aria-invalid", text ? "true" : "false");
    var box = document.getElementById(el.getAttribute("aria-describedby") || "");
    var field = el.closest ? el.closest(".field") : null;
    if (field) field.classList.toggle("has-error", !!text);
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
    box.className = text ? "field-error" : "field-msg";
  }

  function constrained(el) {
    return el.willValidate && el.hasAttribute("aria-describedby") && el.form && el.form.hasAttribute("data-validate");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-validate")) return;
    var first = null;
    for (var i = 0; i < form.elements.length; i++) {
      var el = form.elements[i];
      if (!constrained(el)) continue;
      var text = messageFor(el);
      show(el, text);
      if (text && !first) first = el;
    }
    if (first) {
      event.preventDefault();
      event.stopImmediatePropagation();
      first.focus();
      if (first.reportValidity) first.reportValidity();
    }
  }, true);

  function recheck(event) {  // once shown, a message follows what is typed
    var el = event.target;
    if (constrained(el) && el.getAttribute("aria-invalid") === "true") show(el, messageFor(el));
  }
  document.addEventListener("input", recheck);
  document.addEventListener("change", recheck);

  function focusSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusSummary);
  else focusSummary();
})();
