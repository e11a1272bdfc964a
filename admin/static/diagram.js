/* Progressive enhancement of the server-side SVG: when bpmn-js loaded, draw the diagram with it,
   mark the elements that have problems (red, with a badge) and the steps of a dry-run path.
   A file that holds several processes (each with its own BPMNDiagram, e.g. a shared sub-procedure
   called by a call activity) gets a switcher above the canvas; the marks follow every switch.
   Without JavaScript, or without the npm install, the SVG rendered by the server stays. */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  var source = document.getElementById("diagram-xml");
  if (!box || !source) return;
  var problems = JSON.parse(box.getAttribute("data-problems") || "[]");
  var highlight = JSON.parse(box.getAttribute("data-highlight") || "[]");
  var done = JSON.parse(box.getAttribute("data-done") || "[]");
  var switchLabel = box.getAttribute("data-switch-label") || "Các quy trình trong tệp";
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

  function is(element, type) { return !!element && element.$type === type; }

  /* The diagrams of whole processes or collaborations, in file order: the ones a user switches
     between. Planes of collapsed sub-processes are left to bpmn-js's own drilldown. */
  function topDiagrams(definitions) {
    return (definitions.diagrams || []).filter(function (d) {
      var el = d.plane && d.plane.bpmnElement;
      return is(el, "bpmn:Process") || is(el, "bpmn:Collaboration");
    });
  }

  function diagramLabel(diagram) {
    var el = diagram.plane.bpmnElement;
    if (el.name) return el.name;
    if (is(el, "bpmn:Collaboration")) {
      var names = (el.participants || []).map(function (p) {
        return (p.processRef && p.processRef.name) || p.name || "";
      }).filter(Boolean);
      if (names.length) return names.join(" · ");
    }
    return el.id || diagram.id;
  }

  function processOf(element) {
    while (element && !is(element, "bpmn:Process") && !is(element, "bpmn:Collaboration")) element = element.$parent;
    return element;
  }

  /* element id -> id of the top-level diagram that draws it (directly, or in the drilldown of a
     collapsed sub-process of one of its processes). */
  function elementHomes(definitions, tops) {
    var byProcess = {};
    tops.forEach(function (d) {
      var el = d.plane.bpmnElement;
      if (!byProcess[el.id]) byProcess[el.id] = d.id;
      (el.participants || []).forEach(function (p) {
        if (p.processRef && !byProcess[p.processRef.id]) byProcess[p.processRef.id] = d.id;
      });
    });
    var homes = {};
    (definitions.diagrams || []).forEach(function (d) {
      var plane = d.plane;
      if (!plane || !plane.bpmnElement) return;
      var owner = tops.indexOf(d) >= 0 ? d.id : byProcess[(processOf(plane.bpmnElement) || {}).id];
      if (!owner) return;
      (plane.planeElement || []).forEach(function (di) {
        var el = di.bpmnElement;
        if (el && el.id && !homes[el.id]) homes[el.id] = owner;
      });
    });
    return homes;
  }

  var host = document.createElement("div");
  host.className = "diagram-canvas";
  var fallback = box.querySelector(".svg-fallback");
  box.appendChild(host);  /* attached first: bpmn-js measures its container */
  var viewer = new window.BpmnJS({container: host});
  var selected = null;
  var counts = {};
  problems.forEach(function (p) { if (p.element_id) counts[p.element_id] = (counts[p.element_id] || 0) + 1; });

  /* Everything drawn on top of bpmn-js: called after the import and after every switch, since
     opening a diagram clears the canvas, its markers and its overlays. */
  function applyMarks() {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
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
    done.forEach(function (id) {  /* as the legend draws it: green outline (admin.css) and a check mark */
      if (!registry.get(id)) return;
      canvas.addMarker(id, "done");
      var check = document.createElement("span");
      check.className = "done-badge";
      check.textContent = "✓";
      overlays.add(id, "done-mark", {position: {top: -9, right: 9}, html: check});
    });
    highlight.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "on-path"); });
    if (selected && registry.get(selected)) canvas.addMarker(selected, "selected-problem");
  }

  function select(id) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    if (selected && registry.get(selected)) canvas.removeMarker(selected, "selected-problem");
    selected = id || null;
    if (selected && registry.get(selected)) {
      canvas.addMarker(selected, "selected-problem");
      canvas.scrollToElement(registry.get(selected));
    }
  }

  viewer.importXML(source.value).then(function () {
    fallback.remove();
    box.setAttribute("data-renderer", "bpmn-js");
    var canvas = viewer.get("canvas");
    canvas.resized();
    canvas.zoom("fit-viewport");
    applyMarks();

    var definitions = viewer.getDefinitions();
    var tops = topDiagrams(definitions);
    var homes = elementHomes(definitions, tops);
    var current = tops.length ? tops[0].id : null;
    var buttons = [];
    var opening = Promise.resolve();

    function show(diagramId) {
      if (!diagramId || diagramId === current) return opening;
      opening = opening.then(function () {
        return viewer.open(diagramId);
      }).then(function () {
        current = diagramId;
        box.setAttribute("data-diagram", diagramId);
        buttons.forEach(function (b) {
          b.setAttribute("aria-pressed", String(b.getAttribute("data-diagram") === diagramId));
        });
        var c = viewer.get("canvas");
        c.resized();
        c.zoom("fit-viewport");
        applyMarks();
      }).catch(function (err) {
        if (window.console) console.warn("bpmn-js could not open the diagram " + diagramId, err);
      });
      return opening;
    }

    if (current) box.setAttribute("data-diagram", current);
    if (tops.length >= 2) {
      var nav = document.createElement("nav");
      nav.className = "diagram-switch";
      nav.setAttribute("aria-label", switchLabel);
      tops.forEach(function (d) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = diagramLabel(d);
        b.setAttribute("data-diagram", d.id);
        b.setAttribute("aria-pressed", String(d.id === current));
        b.addEventListener("click", function () { show(d.id); });
        buttons.push(b);
        nav.appendChild(b);
      });
      box.parentNode.insertBefore(nav, box);
    }

    rows.forEach(function (row) {
      row.addEventListener("click", function () {
        var id = row.getAttribute("data-element-id");
        var home = id && homes[id];
        if (home && home !== current) show(home).then(function () { select(id); });
        else select(id);
      });
    });
  }).catch(function (err) {
    host.remove();
    box.setAttribute("data-renderer", "svg");
    if (window.console) console.warn("bpmn-js could not draw the diagram; keeping the server rendering", err);
  });
})();
