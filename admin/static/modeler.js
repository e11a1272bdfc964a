/* The structure editor: bpmn-js's modeler on the version's XML; saving posts the drawn XML,
   which the server validates like an upload and stores as a new draft. */
(function () {
  "use strict";
  var source = document.getElementById("diagram-xml");
  var form = document.getElementById("modeler-form");
  if (!source || !form || typeof window.BpmnJS !== "function") return;
  var modeler = new window.BpmnJS({container: "#modeler", keyboard: {bindTo: document}});
  window.bpmnModeler = modeler;  /* for browser tests and power users */
  modeler.importXML(source.value).then(function () {
    modeler.get("canvas").zoom("fit-viewport");
    document.getElementById("modeler").setAttribute("data-ready", "1");
  }).catch(function (err) { alert(err.message || err); });
  form.addEventListener("submit", function (event) {
    if (form.getAttribute("data-saving")) return;
    event.preventDefault();
    modeler.saveXML({format: true}).then(function (result) {
      source.value = result.xml;
      form.setAttribute("data-saving", "1");
      form.submit();
    });
  });
})();
