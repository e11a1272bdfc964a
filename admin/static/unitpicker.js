// Unit pickers: an input (the unit's code is what the form sends) that suggests the
// administrator's units as one types a code or a name, with or without diacritics
// ("phuong ba dinh" finds "Phường Ba Đình"). ARIA 1.2 combobox with a listbox popup:
// arrows move, Enter picks, Escape closes. The server still checks the code on save.
(function () {
  "use strict";
  var seq = 0;

  function setup(input) {
    var id = "unit-list-" + (++seq);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "unit-listbox";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("aria-label") || input.placeholder || "");
    list.hidden = true;
    var picked = document.createElement("span");
    picked.className = "unit-picked muted";
    picked.setAttribute("aria-live", "polite");
    var wrap = document.createElement("span");
    wrap.className = "unit-picker";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(list);
    wrap.appendChild(picked);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    input.setAttribute("autocomplete", "off");
    var items = [], active = -1, timer = null, asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(i) {
      var options = list.children;
      for (var k = 0; k < options.length; k++) options[k].setAttribute("aria-selected", k === i ? "true" : "false");
      active = i;
      if (i >= 0 && options[i]) {
        input.setAttribute("aria-activedescendant", options[i].id);
        options[i].scrollIntoView({block: "nearest"});
      }
    }
    function choose(i) {
      var item = items[i];
      if (!item) return;
      input.value = item.code;
      picked.textContent = item.name;
      close();
      input.dispatchEvent(new Event("change", {bubbles: true}));
    }
    function show(found) {
      items = found;
      list.textContent = "";
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.id = id + "-none";
        none.textContent = input.dataset.noneLabel || "—";
        list.appendChild(none);
      }
      found.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.code = item.code;
        var code = document.createElement("code");
        code.textContent = item.code;
        li.appendChild(code);
        li.appendChild(document.createTextNode(" " + item.name));
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }
    function ask() {
      var q = input.value.trim();
      picked.textContent = "";
      if (!q) { close(); return; }
      var mine = ++asked;
      var url = input.dataset.lookup + "?q=" + encodeURIComponent(q) +
        (input.dataset.level ? "&level=" + encodeURIComponent(input.dataset.level) : "");
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {items: []}; })
        .then(function (data) { if (mine === asked && document.activeElement === input) show(data.items || []); })
        .catch(function () { close(); });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (list.hidden) { ask(); return; }
        e.preventDefault();
        var n = items.length;
        if (!n) return;
        highlight(e.key === "ArrowDown" ? (active + 1) % n : (active <= 0 ? n - 1 : active - 1));
      } else if (e.key === "Enter" && !list.hidden && active >= 0) {
        e.preventDefault();
        choose(active);
      } else if (e.key === "Escape" && !list.hidden) {
        e.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  function init() {
    var inputs = document.querySelectorAll("input[data-unit-picker]");
    for (var i = 0; i < inputs.length; i++) setup(inputs[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
