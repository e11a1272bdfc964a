/* The desk's intake page ("Tiếp nhận hồ sơ mới"), an enhancement only: the page works without it.
   - the procedure list is filtered as the officer types, folded like the server's search
     (orchestrator/text.py: lower case, no diacritics, đ as d, one space), every word must match;
   - only the outcome's own field (missing items, refusal reason) is shown. */
(function () {
  "use strict";

  function fold(text) {
    return (text || "").normalize("NFC").toLowerCase().replace(/[đð]/g, "d")
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/\s+/g, " ").trim();
  }

  var input = document.getElementById("procedure-q");
  var list = document.getElementById("procedure-list");
  if (input && list) {
    var none = document.getElementById("procedure-none");
    var filter = function () {
      var words = fold(input.value).split(" ").filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(list.querySelectorAll("li[data-search]"), function (li) {
        var text = li.getAttribute("data-search");
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        li.hidden = !match;
        if (match) shown += 1;
      });
      if (none) none.hidden = shown > 0;
    };
    input.addEventListener("input", filter);
  }

  var form = document.getElementById("desk-form");
  if (form) {
    var show = function () {
      var chosen = form.querySelector("input[name=reception_result]:checked");
      var value = chosen ? chosen.value : "accept";
      Array.prototype.forEach.call(form.querySelectorAll("[data-outcome]"), function (el) {
        el.hidden = el.getAttribute("data-outcome") !== value;
      });
    };
    form.addEventListener("change", function (event) {
      if (event.target.name === "reception_result") show();
    });
    show();
  }
})();
