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
