/* The modeler bundle (built by `make venv` with esbuild into build/admin-assets, never committed):
   bpmn-js's Modeler with the bpmn-io properties panel, showing the product's own properties of the
   selected element through the provider below: name, route (level, unit, role of the lane), form,
   deadline in working days, and for a flow out of a gateway the condition with a field picker built
   from the forms of the steps before the gateway. The values live in `data` (the page's JSON, from
   orchestrator/services/modeler.py) and are sent with the diagram; the server validates them. */
import Modeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, useService } from "bpmn-js-properties-panel";
import { CheckboxEntry, SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextFieldEntryEdited }
  from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";

function is(element, type) {
  var bo = element && element.businessObject;
  return !!(bo && bo.$instanceOf && bo.$instanceOf(type));
}

/* One undoable change of the product's properties: the panel re-renders on the command stack. */
function ProductSetHandler(product) { this.product = product; }
ProductSetHandler.$inject = ["config.product"];
ProductSetHandler.prototype.execute = function (ctx) {
  var target = ctx.target();
  ctx.old = target[ctx.key];
  target[ctx.key] = ctx.value;
  return [ctx.element];
};
ProductSetHandler.prototype.revert = function (ctx) {
  ctx.target()[ctx.key] = ctx.old;
  return [ctx.element];
};

function laneOf(element, registry) {
  if (is(element, "bpmn:Lane")) return element.id;
  var bo = element.businessObject, found = "_default";
  registry.filter(function (e) { return is(e, "bpmn:Lane"); }).forEach(function (lane) {
    if ((lane.businessObject.flowNodeRef || []).indexOf(bo) >= 0) found = lane.id;
  });
  return found;
}

/* The fields of the forms of every step upstream of a gateway (deduplicated by name). */
function fieldsBefore(gateway, data) {
  var seen = {}, out = [], queue = [gateway], visited = {};
  while (queue.length) {
    var el = queue.shift();
    (el.incoming || []).forEach(function (flow) {
      var src = flow.source;
      if (!src || visited[src.id]) return;
      visited[src.id] = true;
      (data.fields[src.id] || []).forEach(function (f) {
        if (!seen[f.name]) { seen[f.name] = true; out.push(f); }
      });
      queue.push(src);
    });
  }
  return out;
}

function ProductPropertiesProvider(propertiesPanel, product) {
  this.product = product;
  propertiesPanel.registerProvider(500, this);
}
ProductPropertiesProvider.$inject = ["propertiesPanel", "config.product"];

ProductPropertiesProvider.prototype.getGroups = function (element) {
  var product = this.product, data = product.data, t = product.labels;
  return function () {
    var entries = [];
    var task = is(element, "bpmn:Task") && !is(element, "bpmn:ServiceTask") && !is(element, "bpmn:ScriptTask");
    var userTask = is(element, "bpmn:UserTask");
    if (is(element, "bpmn:FlowElement") || is(element, "bpmn:Lane") || is(element, "bpmn:Participant")) {
      entries.push({id: "product-name", element: element, component: NameEntry, isEdited: isTextFieldEntryEdited});
    }
    if (userTask || task) {
      entries.push({id: "product-form", element: element, component: FormEntry, isEdited: isSelectEntryEdited});
      entries.push({id: "product-deadline", element: element, component: DeadlineEntry,
                    isEdited: isTextFieldEntryEdited});
    }
    if (userTask || task || is(element, "bpmn:Lane")) {
      ["level", "unit_type", "dept_code", "role"].forEach(function (part) {
        entries.push({id: "product-route-" + part, element: element, part: part,
                      component: part === "dept_code" ? RouteTextEntry : RouteSelectEntry});
      });
    }
    if (is(element, "bpmn:SequenceFlow") && element.source && is(element.source, "bpmn:ExclusiveGateway")) {
      entries.push({id: "product-field", element: element, component: FieldPickEntry});
      entries.push({id: "product-value", element: element, component: ValuePickEntry});
      entries.push({id: "product-condition", element: element, component: ConditionEntry});
      entries.push({id: "product-default", element: element, component: DefaultEntry});
    }
    if (!entries.length) return [];
    return [{id: "product", label: t.group, entries: entries}];
  };
};

function record(table, id, defaults) {
  if (!table[id]) table[id] = Object.assign({}, defaults);
  return table[id];
}

function setter(commandStack, element, target, key) {
  return function (value) {
    commandStack.execute("product.set", {element: element, target: target, key: key, value: value});
  };
}

function NameEntry(props) {
  var element = props.element, modeling = useService("modeling"), debounce = useService("debounceInput");
  var t = useService("config.product").labels;
  return h(TextFieldEntry, {element: element, id: props.id, label: t.name, debounce: debounce,
    getValue: function () { return element.businessObject.name || ""; },
    setValue: function (value) { modeling.updateLabel(element, value); }});
}

function FormEntry(props) {
  var element = props.element, product = useService("config.product"), stack = useService("commandStack");
  var rec = function () { return record(product.data.tasks, element.id, {form_key: "", deadline_days: ""}); };
  return h(SelectEntry, {element: element, id: props.id, label: product.labels.form,
    getValue: function () { return rec().form_key || ""; },
    setValue: setter(stack, element, rec, "form_key"),
    getOptions: function () {
      return [{value: "", label: product.labels.form_builtin}].concat(
        product.data.forms.map(function (k) { return {value: k, label: k}; }));
    }});
}

function DeadlineEntry(props) {
  var element = props.element, product = useService("config.product"), stack = useService("commandStack");
  var debounce = useService("debounceInput");
  var rec = function () { return record(product.data.tasks, element.id, {form_key: "", deadline_days: ""}); };
  return h(TextFieldEntry, {element: element, id: props.id, label: product.labels.deadline, debounce: debounce,
    description: product.labels.deadline_hint,
    getValue: function () { return String(rec().deadline_days || ""); },
    setValue: setter(stack, element, rec, "deadline_days"),
    validate: function (value) { return value && !/^[0-9]{1,3}$/.test(value) ? product.labels.deadline_bad : null; }});
}

function routeRecord(product, registry, element) {
  var lane = laneOf(element, registry);
  var rec = record(product.data.lanes, lane, {name: lane, path: "", route: {}});
  if (!rec.route) rec.route = {};
  return rec.route;
}

function RouteSelectEntry(props) {
  var element = props.element, part = props.part, product = useService("config.product");
  var stack = useService("commandStack"), registry = useService("elementRegistry"), t = product.labels;
  var options = {level: [["", "—"], ["commune", t.commune], ["province", t.province]],
                 unit_type: [["", "—"], ["service-center", t.service_center], ["department", t.department]],
                 role: [["", "—"], ["reception", t.reception], ["specialist", t.specialist], ["leader", t.leader]]}[part];
  var rec = function () { return routeRecord(product, registry, element); };
  return h(SelectEntry, {element: element, id: props.id, label: t["route_" + part],
    getValue: function () { return rec()[part] || ""; },
    setValue: setter(stack, element, rec, part),
    getOptions: function () { return options.map(function (o) { return {value: o[0], label: o[1]}; }); }});
}

function RouteTextEntry(props) {
  var element = props.element, product = useService("config.product"), stack = useService("commandStack");
  var registry = useService("elementRegistry"), debounce = useService("debounceInput");
  var rec = function () { return routeRecord(product, registry, element); };
  return h(TextFieldEntry, {element: element, id: props.id, label: product.labels.route_dept_code, debounce: debounce,
    getValue: function () { return rec().dept_code || ""; }, setValue: setter(stack, element, rec, "dept_code")});
}

function flowRecord(product, element) {
  return record(product.data.flows, element.id, {condition: "", "default": false, field: ""});
}

function FieldPickEntry(props) {
  var element = props.element, product = useService("config.product"), stack = useService("commandStack");
  var rec = function () { return flowRecord(product, element); };
  return h(SelectEntry, {element: element, id: props.id, label: product.labels.field,
    getValue: function () { return rec().field || ""; },
    setValue: function (name) {
      stack.execute("product.set", {element: element, target: rec, key: "field", value: name});
      if (name) stack.execute("product.set", {element: element, target: rec, key: "condition", value: name + ' == ""'});
    },
    getOptions: function () {
      return [{value: "", label: "—"}].concat(fieldsBefore(element.source, product.data).map(function (f) {
        return {value: f.name, label: f.label + " (" + f.name + ")"};
      }));
    }});
}

function pickedField(product, element) {
  var name = flowRecord(product, element).field;
  return fieldsBefore(element.source, product.data).filter(function (f) { return f.name === name; })[0];
}

function ValuePickEntry(props) {
  var element = props.element, product = useService("config.product"), stack = useService("commandStack");
  var field = pickedField(product, element);
  if (!field) return null;
  var choices = (field.choices || "").split(",").map(function (c) { return c.trim(); }).filter(Boolean);
  if (field.type === "boolean") choices = ["True", "False"];
  if (!choices.length) return null;
  var rec = function () { return flowRecord(product, element); };
  var quote = function (v) {
    return field.type === "boolean" || field.type === "integer" || field.type === "number" ? v : JSON.stringify(v);
  };
  return h(SelectEntry, {element: element, id: props.id, label: product.labels.value,
    getValue: function () { var m = /==\s*(.*)$/.exec(rec().condition || ""); return m ? m[1].replace(/^"|"$/g, "") : ""; },
    setValue: function (v) {
      stack.execute("product.set", {element: element, target: rec, key: "condition", value: field.name + " == " + quote(v)});
    },
    getOptions: function () {
      return [{value: "", label: "—"}].concat(choices.map(function (c) { return {value: c, label: c}; }));
    }});
}

function ConditionEntry(props) {
  var element = props.element, product = useService("config.product"), stack = useService("commandStack");
  var debounce = useService("debounceInput");
  var rec = function () { return flowRecord(product, element); };
  return h(TextAreaEntry, {element: element, id: props.id, label: product.labels.condition, debounce: debounce,
    monospace: true, rows: 2, description: product.labels.condition_hint,
    getValue: function () { return rec().condition || ""; }, setValue: setter(stack, element, rec, "condition")});
}

function DefaultEntry(props) {
  var element = props.element, product = useService("config.product"), stack = useService("commandStack");
  var rec = function () { return flowRecord(product, element); };
  return h(CheckboxEntry, {element: element, id: props.id, label: product.labels["default"],
    getValue: function () { return !!rec()["default"]; }, setValue: setter(stack, element, rec, "default")});
}

function registerHandler(commandStack) { commandStack.registerHandler("product.set", ProductSetHandler); }
registerHandler.$inject = ["commandStack"];

var ProductModule = {
  __init__: ["productPropertiesProvider", "productCommands"],
  productPropertiesProvider: ["type", ProductPropertiesProvider],
  productCommands: ["type", registerHandler]
};

/* What modeler.js calls: a modeler whose panel is drawn into `panel`, reading and writing `product.data`. */
window.ProductModeler = {
  create: function (container, panel, product) {
    return new Modeler({container: container, keyboard: {bindTo: document}, propertiesPanel: {parent: panel, layout: {groups: {product: {open: true}}}},
                        additionalModules: [BpmnPropertiesPanelModule, ProductModule], product: product});
  }
};
