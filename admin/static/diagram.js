/* Progressive enhancement of the server-side SVG: when bpmn-js loaded, draw the diagram with it,
   mark the elements that have problems (red, with a badge) and the steps of a dry-run path.
   Without JavaScript, or without the npm install, the SVG rendered by the server stays. */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  var source = document.getElementById("diagram-xml");
  if (!box || !source) return;
  var problems = JSON.parse(box.getAttribute("data-problems") || "[]");
  var highlight = JSON.parse(box.getAttribute("data-highlight") || "[]");
  var done = JSON.parse(box.getAttribute("data-done") || "[]");
  var rows = document.querySelectorAll("table.problems tr[data-element-id]");

  function selectSvg(id) {
    box.querySelectorAll(".selected-problem").forEach(function (el) { el.classList.remove("selected-problem"); });
    var el = box.querySelector('[data-element-id="' + CSS.escape(id) + '"]');
    if (el) { el.classList.add("selected-problem"); el.scrollIntoView({block: "center", inline: "center"}); }
  }

  if (typeof window.BpmnJS !== "function") {
    rows.forEach(function (row) {
      row.addEventListener("click", function () { selectSvg(row.getAttribute("data-element-id")); });
    });
    return;
  }
  var host = document.createElement("div");
  host.style.height = "100%";
  var fallback = box.querySelector(".svg-fallback");
  box.appendChild(host);  /* attached first: bpmn-js measures its container */
  var viewer = new window.BpmnJS({container: host});
  viewer.importXML(source.value).then(function () {
    fallback.remove();
    box.setAttribute("data-renderer", "bpmn-js");
    var canvas = viewer.get("canvas");
    canvas.resized();
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    canvas.zoom("fit-viewport");
    var counts = {};
    problems.forEach(function (p) { if (p.element_id) counts[p.element_id] = (counts[p.element_id] || 0) + 1; });
    Object.keys(counts).forEach(function (id) {
      if (!registry.get(id)) return;
      canvas.addMarker(id, "has-problem");
      var badge = document.createElement("span");
      badge.className = "problem-badge";
      badge.textContent = "⚠ " + counts[id];
      badge.title = problems.filter(function (p) { return p.element_id === id; })
        .map(function (p) { return p.message; }).join("\n");
      overlays.add(id, {position: {top: -10, right: 10}, html: badge});
    });
    done.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "done"); });
    highlight.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "on-path"); });
    rows.forEach(function (row) {
      row.addEventListener("click", function () {
        var id = row.getAttribute("data-element-id");
        registry.getAll().forEach(function (el) { canvas.removeMarker(el.id, "selected-problem"); });
        if (id && registry.get(id)) { canvas.addMarker(id, "selected-problem"); canvas.scrollToElement(registry.get(id)); }
      });
    });
  }).catch(function (err) {
    host.remove();
    box.setAttribute("data-renderer", "svg");
    if (window.console) console.warn("bpmn-js could not draw the diagram; keeping the server rendering", err);
  });
})();
