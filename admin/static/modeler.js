/* The structure editor: bpmn-js's modeler (with the properties panel when the bundle is built) on
   the version's XML. Save sends the drawn XML, the revision it started from and the step
   properties as JSON and stays on the page: the first save on a published version makes one draft,
   every later save goes into it; a refusal (409 when the draft changed elsewhere, 422 with the
   problems) is shown here and the drawing is kept. */
(function () {
  "use strict";
  var source = document.getElementById("diagram-xml");
  var form = document.getElementById("modeler-form");
  if (!source || !form) return;
  var readJSON = function (id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent || "{}") : {};
  };
  var product = {data: readJSON("modeler-data"), labels: readJSON("modeler-labels")};
  var modeler;
  if (window.ProductModeler) {
    modeler = window.ProductModeler.create("#modeler", "#properties", product);
  } else if (typeof window.BpmnJS === "function") {
    modeler = new window.BpmnJS({container: "#modeler", keyboard: {bindTo: document}});
    document.getElementById("properties").hidden = true;
  } else {
    return;
  }
  window.bpmnModeler = modeler;  /* for browser tests and power users */
  window.productProperties = product;
  var status = document.getElementById("modeler-status");
  var errorBox = document.getElementById("modeler-error");
  var base = document.getElementById("modeler-base");
  var button = document.getElementById("save-model");
  var csrf = form.querySelector("input[name=csrf_token]");

  modeler.importXML(source.value).then(function () {
    modeler.get("canvas").zoom("fit-viewport");
    document.getElementById("modeler").setAttribute("data-ready", "1");
  }).catch(function (err) { alert(err.message || err); });

  function showError(error) {
    errorBox.textContent = "";
    var p = document.createElement("p");
    p.className = "flash error";
    p.textContent = error.message || String(error);
    errorBox.appendChild(p);
    var details = Object.keys(error.fields || {}).map(function (k) { return k + ": " + error.fields[k]; });
    (error.problems || []).forEach(function (pr) {
      details.push((pr.element_id ? pr.element_id + ": " : "") + pr.message);
    });
    if (details.length) {
      var ul = document.createElement("ul");
      details.slice(0, 12).forEach(function (d) {
        var li = document.createElement("li");
        li.textContent = d;
        ul.appendChild(li);
      });
      errorBox.appendChild(ul);
    }
    errorBox.hidden = false;
    errorBox.setAttribute("data-code", error.code || "");
  }

  function payloadProperties() {
    var d = product.data;
    return {tasks: d.tasks, lanes: Object.keys(d.lanes || {}).reduce(function (out, id) {
      out[id] = d.lanes[id].route || {};
      return out;
    }, {}), flows: d.flows};
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    status.textContent = product.labels.saving || "…";
    modeler.saveXML({format: true}).then(function (result) {
      source.value = result.xml;
      return fetch(form.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRFToken": csrf ? csrf.value : ""},
        body: JSON.stringify({xml: result.xml, base: base.value, properties: payloadProperties()})
      });
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (answer) {
      button.disabled = false;
      if (!answer.ok) {
        status.textContent = "";
        showError(answer.body.error || {message: String(answer.body)});
        return;
      }
      var body = answer.body;
      errorBox.hidden = true;
      status.textContent = body.message;
      base.value = body.data.revision;
      /* keep what the page shows, and take the server's view of the properties (ids, defaults) */
      Object.keys(body.data).forEach(function (k) { product.data[k] = body.data[k]; });
      if (form.getAttribute("data-url") !== body.url) {  /* a published version: now edit its draft */
        form.setAttribute("data-url", body.url);
        document.getElementById("modeler-version").textContent = "v" + body.number;
        document.getElementById("modeler-hint").textContent = "";
        document.getElementById("modeler-back").setAttribute("href", body.version_url);
        if (window.history && window.history.replaceState) window.history.replaceState(null, "", body.url);
      }
      form.setAttribute("data-saved", String(Number(form.getAttribute("data-saved") || 0) + 1));
    }).catch(function (err) {
      button.disabled = false;
      status.textContent = "";
      showError({message: err.message || String(err)});
    });
  });
})();
