/* The form editor's live preview: each row of the table drawn as the officer's form draws it
   (label, * when required, a text box, a number, a date, a yes/no box, or a list to choose one
   from), redrawn on every change; "Thêm trường" adds an empty row the server reads like the others. */
(function () {
  "use strict";
  var form = document.getElementById("fields-form");
  var body = document.getElementById("fields-preview-body");
  var section = document.getElementById("fields-preview");
  if (!form || !body || !section) return;
  var names = JSON.parse(section.getAttribute("data-type-names") || "{}");
  var rows = document.getElementById("fields-rows");
  var count = document.getElementById("fields-count");

  function value(row, prefix) {
    var el = row.querySelector("[name^='" + prefix + "_']");
    if (!el) return "";
    return el.type === "checkbox" ? el.checked : el.value;
  }

  function control(field) {
    var el;
    if (field.choices.length) {
      el = document.createElement("select");
      [""].concat(field.choices).forEach(function (c) {
        var o = document.createElement("option");
        o.value = c;
        o.textContent = c || "—";
        el.appendChild(o);
      });
    } else if (field.type === "text") {
      el = document.createElement("textarea");
      el.rows = 3;
    } else if (field.type === "boolean") {
      el = document.createElement("input");
      el.type = "checkbox";
    } else {
      el = document.createElement("input");
      el.type = {integer: "number", number: "number", date: "date"}[field.type] || "text";
    }
    el.id = "preview-" + field.name;
    el.setAttribute("data-type", field.type);
    return el;
  }

  function draw() {
    body.textContent = "";
    Array.prototype.forEach.call(rows.querySelectorAll("tr"), function (row) {
      var name = String(value(row, "name")).trim(), label = String(value(row, "label")).trim();
      if ((!name && !label) || value(row, "remove")) return;
      var field = {name: name || label, label: label || name, type: value(row, "type") || "string",
                   required: value(row, "required"),
                   choices: String(value(row, "choices")).split(",").map(function (c) { return c.trim(); })
                     .filter(Boolean)};
      var div = document.createElement("div");
      div.className = "field";
      div.setAttribute("data-field", field.name);
      var lab = document.createElement("label");
      lab.htmlFor = "preview-" + field.name;
      lab.textContent = field.label + (field.required && field.type !== "boolean" ? " *" : "");
      var kind = document.createElement("span");
      kind.className = "muted type-name";
      kind.textContent = " (" + (field.choices.length ? section.getAttribute("data-choice-name")
                                                      : names[field.type] || field.type) + ")";
      lab.appendChild(kind);
      div.appendChild(lab);
      div.appendChild(control(field));
      body.appendChild(div);
    });
  }

  var add = document.getElementById("add-field");
  if (add && count) {
    add.addEventListener("click", function () {
      var last = rows.querySelector("tr:last-child");
      var next = Number(count.value) + 1;
      var copy = last.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll("[name]"), function (el) {
        el.name = el.name.replace(/_[0-9]+$/, "_" + next);
        if (el.type === "checkbox") el.checked = false;
        else if (el.tagName === "SELECT") el.selectedIndex = 0;
        else el.value = "";
      });
      Array.prototype.forEach.call(copy.querySelectorAll(".field-error"), function (el) { el.remove(); });
      rows.appendChild(copy);
      count.value = String(next);
      var first = copy.querySelector("input");
      if (first) first.focus();
      draw();
    });
  }
  form.addEventListener("input", draw);
  form.addEventListener("change", draw);
  draw();
})();
