"""Checks on the shipped procedure library (bpmn/catalog.json, bpmn/**.bpmn, forms/*.json).

For every catalog entry: the file parses (and validates against the BPMN XSD) with the parser
that matches its dialect, every user task has a form that exists and is a valid JSON Schema
2020-12, every lane is routable, the diagram has complete BPMNDI, scripts and conditions keep to
the sandbox subset, and the workflow runs to completion with a plain BpmnWorkflow on sample data
that validates against each form. Camunda files are run too: their ``${...}`` conditions are
unwrapped by a small test-only environment (the product's sandbox does the same in its own way).
"""
import ast
import json
import re
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR as SPIFF_VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from orchestrator.engine import decisions
from orchestrator.services import fees
from orchestrator.services.errors import Invalid

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = ROOT / "forms"
CATALOG = json.loads((BPMN_DIR / "catalog.json").read_text(encoding="utf-8"))

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
CAMUNDA_NS = NS["camunda"]
ROUTING_PATH = re.compile(
    r"^(commune|province/(service-center|department:([A-Z0-9]+|\{item\})))/(reception|specialist|leader)$")
MILESTONES = {"reception", "decision", "return"}


def entry_id(entry):
    return f"{entry['scope']}:{entry['code']}"


def is_camunda(path):
    root = etree.parse(str(path)).getroot()
    return CAMUNDA_NS in root.nsmap.values()


def load_tree(entry):
    return etree.parse(str(BPMN_DIR / entry["file"]))


def parse(entry):
    """A fresh parser each time (a parser reused after a failed get_spec is unreliable)."""
    path = BPMN_DIR / entry["file"]
    if is_camunda(path):
        parser = CamundaParser(validator=BpmnValidator())
    else:
        parser = SpiffBpmnParser(validator=SPIFF_VALIDATOR)
    parser.add_bpmn_file(str(path))
    ids = parser.get_process_ids()
    main = main_process_id(path)
    assert main in ids, f"{entry['file']}: main process {main} is not executable ({ids})"
    return parser.get_spec(main), parser.get_subprocess_specs(main)


def main_process_id(path):
    """The process the single participant references (the others are sub-procedures it calls)."""
    tree = etree.parse(str(path))
    refs = tree.xpath("//bpmn:participant/@processRef", namespaces=NS)
    assert len(refs) == 1, f"{path}: expected one participant, got {refs}"
    return refs[0]


def user_task_specs(spec):
    return [t for t in spec.task_specs.values() if type(t).__name__ == "UserTask"]


def task_meta(task_spec):
    """(formKey, properties) for a Spiff or Camunda user task spec."""
    if hasattr(task_spec, "form"):  # camunda
        props = dict(task_spec.extensions or {})
        return task_spec.form.key, props
    props = dict((task_spec.extensions or {}).get("properties", {}))
    return props.get("formKey"), props


def load_form(form_id):
    return json.loads((FORMS_DIR / f"{form_id}.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- sandbox subset (static check)
ALLOWED_CALLS = {"len", "min", "max", "sum", "round", "int", "str"}
ALLOWED_NODES = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass,
    ast.Break, ast.Continue, ast.IfExp, ast.Name, ast.Load, ast.Store, ast.Constant, ast.List,
    ast.Tuple, ast.Dict, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Attribute,
    ast.Subscript, ast.Slice, ast.keyword, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Not, ast.USub, ast.UAdd, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.In, ast.NotIn,
)


def check_subset(source, mode):
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        assert isinstance(node, ALLOWED_NODES), f"{type(node).__name__} not allowed in: {source!r}"
        if isinstance(node, ast.Attribute):
            assert node.attr == "get" and "_" not in node.attr, f"attribute .{node.attr} not allowed"
        if isinstance(node, ast.Name):
            assert not node.id.startswith("_"), f"name {node.id} not allowed"
        if isinstance(node, ast.Call):
            f = node.func
            ok = (isinstance(f, ast.Name) and f.id in ALLOWED_CALLS) or (
                isinstance(f, ast.Attribute) and f.attr == "get")
            assert ok, f"call not allowed in: {source!r}"


def unwrap(expression):
    expression = expression.strip()
    if expression.startswith("${") and expression.endswith("}"):
        return expression[2:-1].strip()
    return expression


class UnwrappingEnvironment(TaskDataEnvironment):
    """Test-only: lets the default engine evaluate Camunda ``${...}`` conditions."""

    def evaluate(self, expression, context, external_context=None):
        expression = unwrap(expression)
        if re.fullmatch(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?", expression.strip()):
            return expression.strip()  # a bare ISO 8601 timer value, as modelers write it (the product does the same)
        return super().evaluate(expression, context, external_context)


# ---------------------------------------------------------------- sample data (accept/approve path)
SAMPLES = {
    "KS-TIEPNHAN": {
        "reception_result": "accept",
        "child_full_name": "Nguyễn Minh An", "child_sex": "female", "child_date_of_birth": "2025-11-02",
        "child_place_of_birth": "Bệnh viện Đa khoa tỉnh Thái Nguyên", "child_ethnicity": "Kinh",
        "child_nationality": "Việt Nam", "child_home_town": "xã Phú Bình, tỉnh Thái Nguyên",
        "birth_proof_type": "birth_certificate",
        "mother_full_name": "Trần Thị Hoa", "mother_birth_year": 1996, "mother_ethnicity": "Kinh",
        "mother_nationality": "Việt Nam", "mother_residence": "xã Phú Bình, tỉnh Thái Nguyên",
        "mother_id_number": "019196001234",
        "father_full_name": "Nguyễn Văn Nam", "father_birth_year": 1994, "father_ethnicity": "Kinh",
        "father_nationality": "Việt Nam", "father_residence": "xã Phú Bình, tỉnh Thái Nguyên",
        "father_id_number": "019094005678",
        "requester_full_name": "Nguyễn Văn Nam", "requester_id_number": "019094005678",
        "requester_relationship": "father",
    },
    "KS-HOTICH": {
        "check_result": "valid", "check_note": "Hồ sơ hợp lệ", "days_since_birth": 21,
        "fee_exempt_group": False, "child_personal_id": "019325000111", "register_book_number": "01/2025",
        "register_entry_number": 154,
    },
    "KS-KY": {"decision": "approve", "decision_note": "", "signer_title": "vice_chairman"},
    "KS-TRAKQ": {"delivery_method": "in_person", "result_number": "154/2025", "extract_copies": 2,
                 "recipient_full_name": "Nguyễn Văn Nam", "recipient_id_number": "019094005678"},
    "HKD-TIEPNHAN": {
        "reception_result": "accept",
        "business_name": "Hộ kinh doanh Tạp hóa Minh Châu", "business_address": "Thôn Đồng Xe, xã Phú Bình",
        "business_lines": ["4711 – Bán lẻ lương thực, thực phẩm, đồ uống trong cửa hàng kinh doanh tổng hợp"],
        "capital_vnd": 150000000, "employees_count": 2, "members_count": 2,
        "members_list": "Lê Văn Châu 019088001111; Lê Thị Minh 019190002222", "members_agreement_attached": True,
        "owner_full_name": "Lê Văn Châu", "owner_id_number": "019088001111", "owner_date_of_birth": "1988-04-12",
        "owner_sex": "male", "owner_residence": "Thôn Đồng Xe, xã Phú Bình", "owner_phone": "0912345678",
        "filed_by_proxy": False,
    },
    "HKD-THAMDINH": {"documents_valid": True, "name_duplicate": False, "name_violates_rules": False,
                     "conditional_business_line": True, "check_note": "Đủ điều kiện"},
    "HKD-YKIEN": {"department_opinion": "agree", "department_opinion_note": "Không có ý kiến khác"},
    "HKD-PHANCONG": {"assigned_officer": "cv.kinhte01", "priority": "normal", "review_note": "Đề nghị thẩm định"},
    "HKD-XACMINH": {"site_verification_result": "conform", "site_verification_date": "2025-12-03",
                    "site_verification_note": "Địa điểm đáp ứng điều kiện"},
    "HKD-KY-GCN": {"decision": "approve", "decision_note": "Đồng ý", "registration_number": "19A8001234"},
    "HKD-KY-TUCHOI": {"decision": "refuse", "decision_note": "Tên trùng với hộ kinh doanh đã đăng ký",
                      "refusal_notice_number": "12/TB-UBND"},
    "HKD-TRAKQ": {"delivery_method": "post", "result_number": "19A8001234"},
    "DD-TIEPNHAN": {
        "reception_result": "accept",
        "applicant_full_name": "Phạm Văn Long", "applicant_id_number": "001080004321",
        "applicant_date_of_birth": "1980-09-01", "applicant_residence": "xã Sóc Sơn, thành phố Hà Nội",
        "parcel_number": 215, "map_sheet_number": 12, "parcel_address": "xứ đồng Bãi Dài, xã Sóc Sơn",
        "declared_area_m2": 198.0, "land_use_purpose": "ONT", "land_origin": "before_1993",
        "land_use_start_year": 1990, "has_attached_assets": True,
        "attached_assets_description": "Nhà ở cấp 4, diện tích xây dựng 80 m²",
    },
    "DD-XACMINH-XA": {"origin_confirmed": "confirmed", "current_use_status": "Đang sử dụng làm nhà ở",
                      "use_stability": "stable", "planning_conformity": "conform", "dispute_status": "none",
                      "public_posting_start": "2025-12-01", "verification_note": "Đủ điều kiện"},
    "DD-KIEMTRA-VPDK": {"cadastral_check_result": "adjusted", "measured_area_m2": 200.5,
                        "land_price_per_m2": 5000000, "registration_fee_exempt": False,
                        "file_check_note": "Đã đo đạc chỉnh lý"},
    "DD-DUTHAO-GCN": {"certificate_serial": "AA 01234567", "land_use_form": "private", "land_use_term": "long_term"},
    "DD-KY": {"decision": "approve", "decision_note": "Đồng ý cấp", "certificate_number": "CS 00123",
              "signed_on": "2025-12-20"},
    "DD-CAPNHAT-CSDL": {"cadastral_db_updated": True, "update_reference": "BD-2025-0456"},
    "DD-DONDOC-NVTC": {"follow_up_result": "paid", "receipt_number": "BL-2025-0789"},
    "DD-TRAKQ": {"delivery_method": "in_person", "result_number": "CS 00123", "obligations_paid": True,
                 "recipient_full_name": "Phạm Văn Long", "recipient_id_number": "001080004321"},
}

EXPECTED_PATHS = {
    ("national", "1.001193"): ["Task_Reception", "Task_Record", "Task_Sign", "Task_Return"],
    ("national", "1.001612"): ["Task_Reception", "Task_Check", "Task_SignCertificate", "Task_Return"],
    ("01", "1.001612"): ["Task_Reception", "Task_PreReview", "Task_Check", "Task_Consult", "Task_Consult",
                         "Task_SignCertificate", "Task_Return"],
    ("19", "1.001612"): ["Task_Reception", "Task_Check", "Task_SiteVerification", "Task_Sign", "Task_Return"],
    ("national", "1.013978"): ["Task_Reception", "Task_CommuneVerification", "Task_FileCheck", "Task_Draft",
                               "Task_Sign", "Task_UpdateCadastre", "Task_Return"],
}


def validate_data(form_id, data):
    form = load_form(form_id)
    validator = jsonschema.Draft202012Validator(
        form["schema"], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, f"sample data for {form_id} does not validate: {errors}"


# What the shipped diagrams wait for (issue 17): message names and timer durations, per procedure.
# The land procedure, in document order: the 15-day public posting, 30 days after the notice
# without payment (the notice's payment period, to confirm), 15 days without notice or payment.
EVENTS = {("national", "1.013978"): ({"tax_notice", "payment_received"}, ["P15D", "P30D", "P15D"])}


def deliver(workflow, name, payload=None):
    """A message from outside (an integrator's `events` call), then the engine runs on: sent with
    the definition of a catch event waiting for it (an event-based gateway's or its own)."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = task.task_spec.event_definition
        for candidate in getattr(definition, "event_definitions", [definition]):
            if isinstance(candidate, MessageEventDefinition) and candidate.name == name:
                workflow.send_event(BpmnEvent(candidate, payload or {}))
                workflow.do_engine_steps()
                return
    raise AssertionError(f"not waiting for {name}")


def expire_timers(workflow):
    """Every waiting timer is due now (the product's dry run does the same)."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if task._get_internal_data("event_value") is not None:
            task._set_internal_data(event_value="1970-01-01T00:00:00+00:00")
    workflow.refresh_timers()
    workflow.do_engine_steps()


def run(entry, overrides=None, max_steps=50, events=("timer", "payment_received"), require_complete=True):
    """Run the workflow, completing user tasks with SAMPLES (+ overrides per form id); when no
    task is ready, the next of `events` comes (a message name, or "timer": the timers expire).
    Returns (workflow, user task ids in completion order, bpmn ids of completed end events)."""
    overrides = overrides or {}
    events = list(events)
    spec, subprocesses = parse(entry)
    engine = PythonScriptEngine(environment=UnwrappingEnvironment())
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=engine)
    workflow.do_engine_steps()
    done = []
    for _ in range(max_steps):
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready and events and workflow.get_tasks(state=TaskState.WAITING):
            event = events.pop(0)
            expire_timers(workflow) if event == "timer" else deliver(workflow, event)
            continue
        if not ready:
            break
        task = ready[0]
        form_id, _props = task_meta(task.task_spec)
        data = dict(SAMPLES[form_id])
        data.update(overrides.get(form_id, {}))
        validate_data(form_id, data)
        task.data.update(data)
        task.run()
        done.append(task.task_spec.bpmn_id)
        workflow.do_engine_steps()
    assert workflow.is_completed() or not require_complete, f"{entry['file']} did not complete; done={done}"
    ends = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if type(t.task_spec).__name__ == "EndEvent" and t.workflow is workflow]  # not a called process's
    return workflow, done, ends


# ================================================================ catalog
def test_catalog_shape():
    keys = {"code", "name", "name_en", "field", "scope", "file", "deadline_days", "deadline_kind", "fee",
            "lanes", "note"}
    seen = set()
    for entry in CATALOG:
        assert keys <= set(entry), f"missing keys in {entry.get('file')}: {keys - set(entry)}"
        assert re.fullmatch(r"\d\.\d{6}", entry["code"])
        assert entry["scope"] == "national" or re.fullmatch(r"\d{2}", entry["scope"])
        assert entry["file"].startswith(("national/" if entry["scope"] == "national" else entry["scope"] + "/"))
        assert (BPMN_DIR / entry["file"]).is_file()
        assert entry["deadline_kind"] in ("working", "calendar", "same-day")
        if entry["deadline_kind"] == "same-day":
            assert entry["deadline_days"] is None
        else:
            assert isinstance(entry["deadline_days"], int) and entry["deadline_days"] > 0
        assert entry["fee"]["kind"] in ("free", "fixed", "decision", "provincial")
        for name in entry.get("dmn", ()):
            assert (BPMN_DIR / name).is_file(), name
        if entry["fee"]["kind"] == "fixed":
            assert isinstance(entry["fee"]["amount"], int) and entry["fee"]["amount"] > 0
        for path in entry["lanes"].values():
            assert ROUTING_PATH.match(path), path
        assert (entry["code"], entry["scope"]) not in seen
        seen.add((entry["code"], entry["scope"]))
    # every province variant has a national template
    national = {e["code"] for e in CATALOG if e["scope"] == "national"}
    assert all(e["code"] in national for e in CATALOG)
    assert set(EXPECTED_PATHS) == {(e["scope"], e["code"]) for e in CATALOG}


@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_parses_with_matching_parser(entry):
    spec, _ = parse(entry)
    assert user_task_specs(spec)
    path = BPMN_DIR / entry["file"]
    text = path.read_text(encoding="utf-8")
    if is_camunda(path):
        assert "spiffworkflow:" not in text
    else:
        assert 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"' in text
    assert "<!DOCTYPE" not in text and "<!ENTITY" not in text
    # timers and message events only where expected (issue 17: the land procedure's tax wait)
    tree = load_tree(entry)
    messages, timers = EVENTS.get((entry["scope"], entry["code"]), (set(), []))
    assert set(tree.xpath("//bpmn:message/@name", namespaces=NS)) == messages
    assert [t.strip() for t in tree.xpath("//bpmn:timerEventDefinition/bpmn:timeDuration/text()", namespaces=NS)] \
        == timers
    assert len(tree.xpath("//bpmn:timerEventDefinition", namespaces=NS)) == len(timers)


@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_user_tasks_forms_and_milestones(entry):
    spec, _ = parse(entry)
    milestones = {"reception": [], "decision": [], "return": []}
    for ts in user_task_specs(spec):
        form_id, props = task_meta(ts)
        assert form_id, f"{ts.bpmn_id} has no formKey"
        path = FORMS_DIR / f"{form_id}.json"
        assert path.is_file(), f"{ts.bpmn_id}: form {form_id} missing"
        form = load_form(form_id)
        assert form["id"] == form_id
        jsonschema.Draft202012Validator.check_schema(form["schema"])
        if "milestone" in props:
            assert props["milestone"] in MILESTONES
            milestones[props["milestone"]].append((ts.bpmn_id, form))
        if "stepDays" in props:
            assert int(props["stepDays"]) >= 0
    assert len(milestones["reception"]) == 1
    assert len(milestones["return"]) == 1
    assert milestones["decision"]
    _, form = milestones["reception"][0]
    p = form["schema"]["properties"]
    assert "reception_result" in form["schema"]["required"]
    assert p["reception_result"]["enum"] == ["accept", "supplement", "refuse"]
    assert p["missing_items"]["type"] == "array" and p["missing_items"]["items"]["type"] == "string"
    assert p["refusal_reason"]["type"] == "string"
    for _, form in milestones["decision"]:
        p = form["schema"]["properties"]
        assert set(p["decision"]["enum"]) <= {"approve", "refuse"} and "decision_note" in p
    _, form = milestones["return"][0]
    p = form["schema"]["properties"]
    assert p["delivery_method"]["enum"] == ["in_person", "post", "online"] and "result_number" in p
    # the reception task is the first user task after the start event
    start = next(t for t in spec.task_specs.values() if type(t).__name__ == "StartEvent")
    first = start.outputs[0]
    assert first.bpmn_id == milestones["reception"][0][0]


@pytest.mark.parametrize("form_path", sorted(FORMS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_form_files(form_path):
    form = json.loads(form_path.read_text(encoding="utf-8"))
    assert form["id"] == form_path.stem
    assert form["title"]["vi"] and form["title"]["en"]
    schema = form["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])
    assert form["ui"]["ui:order"] == list(schema["properties"])
    for name, prop in schema["properties"].items():
        assert prop.get("title") and prop.get("x-title-en"), name
        if "enum" in prop:
            labels = prop["x-enum-labels"]
            assert len(labels["vi"]) == len(labels["en"]) == len(prop["enum"]), name
        if name.endswith("id_number"):
            assert prop["pattern"] == "^[0-9]{12}$", name


@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_lanes_are_routable(entry):
    spec, _ = parse(entry)
    tree = load_tree(entry)
    lanes = tree.xpath("//bpmn:process/bpmn:laneSet/bpmn:lane", namespaces=NS)
    assert lanes, "a laneSet is required"
    lane_ids = {lane.get("id") for lane in lanes}
    assert set(entry["lanes"]) <= lane_ids, "catalog maps a lane that is not in the diagram"
    user_tasks = {t.get("id"): t for t in tree.xpath("//bpmn:userTask", namespaces=NS)}
    for lane in lanes:
        name = lane.get("name") or ""
        if ROUTING_PATH.match(name):
            continue
        if lane.get("id") in entry["lanes"]:
            continue
        # a camunda:candidateGroups routing path on every user task of the lane counts as its mapping
        refs = [r.text for r in lane.findall("bpmn:flowNodeRef", NS) if r.text in user_tasks]
        groups = {user_tasks[r].get(f"{{{CAMUNDA_NS}}}candidateGroups") for r in refs}
        assert refs and len(groups) == 1 and ROUTING_PATH.match(groups.pop() or ""), \
            f"lane {lane.get('id')} ({name!r}) is neither a routing path nor mapped"
    for ts in user_task_specs(spec):
        assert ts.lane, f"user task {ts.bpmn_id} is not in a lane"


@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_diagram_interchange_complete(entry):
    tree = load_tree(entry)
    main = main_process_id(BPMN_DIR / entry["file"])
    processes = tree.xpath("//bpmn:process", namespaces=NS)
    called = set(tree.xpath("//bpmn:callActivity/@calledElement", namespaces=NS))
    assert [p.get("id") for p in processes if p.get("id") not in called] == [main]
    assert all(p.get("isExecutable") == "true" for p in processes)
    planes = set(tree.xpath("//bpmndi:BPMNPlane/@bpmnElement", namespaces=NS))
    assert called <= planes, "a called process of the file is drawn on its own plane"
    shapes = {s.get("bpmnElement"): s for s in tree.xpath("//bpmndi:BPMNShape", namespaces=NS)}
    edges = {e.get("bpmnElement"): e for e in tree.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
    for node in (n for p in processes for n in p):
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if local in ("documentation", "extensionElements", "laneSet"):
            continue
        if local in ("sequenceFlow", "association"):
            edge = edges.get(node.get("id"))
            assert edge is not None, f"no BPMNEdge for {node.get('id')}"
            assert len(edge.findall("di:waypoint", NS)) >= 2
        else:
            shape = shapes.get(node.get("id"))
            assert shape is not None and shape.find("dc:Bounds", NS) is not None, f"no shape for {node.get('id')}"
    for lane in tree.xpath("//bpmn:lane", namespaces=NS):
        assert lane.get("id") in shapes
    for participant in tree.xpath("//bpmn:participant", namespaces=NS):
        assert participant.get("id") in shapes


@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_scripts_and_conditions_in_sandbox_subset(entry):
    tree = load_tree(entry)
    scripts = tree.xpath("//bpmn:scriptTask", namespaces=NS)
    assert scripts, "each procedure has at least one script task"
    for st in scripts:
        assert st.get("scriptFormat") == "python"
        check_subset(st.findtext("bpmn:script", namespaces=NS), "exec")
    camunda = is_camunda(BPMN_DIR / entry["file"])
    for cond in tree.xpath("//bpmn:conditionExpression", namespaces=NS):
        text = cond.text.strip()
        if camunda:
            assert text.startswith("${") and text.endswith("}")
        check_subset(unwrap(text), "eval")
    for gw in tree.xpath("//bpmn:exclusiveGateway", namespaces=NS):
        outgoing = tree.xpath(f"//bpmn:sequenceFlow[@sourceRef='{gw.get('id')}']", namespaces=NS)
        if len(outgoing) > 1:
            assert gw.get("default") in {f.get("id") for f in outgoing}, f"{gw.get('id')} needs a default flow"


# ================================================================ running
@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_runs_accept_approve_path(entry):
    workflow, done, ends = run(entry)
    expected = EXPECTED_PATHS[(entry["scope"], entry["code"])]
    if entry["code"] == "1.013978":  # the parallel branches may complete in either order
        assert done[0] == expected[0] and set(done[1:3]) == set(expected[1:3]) and done[3:] == expected[3:]
    else:
        assert done == expected
    assert ends == ["EndEvent_Done"]


@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_runs_supplement_path(entry):
    recv_form = task_meta(next(t for t in user_task_specs(parse(entry)[0]) if t.bpmn_id == "Task_Reception"))[0]
    _, done, ends = run(entry, {recv_form: {"reception_result": "supplement",
                                            "missing_items": ["Bản sao giấy tờ tùy thân"]}})
    assert done == ["Task_Reception"] and ends == ["EndEvent_Supplement"]


def land_entry():
    return next(e for e in CATALOG if e["code"] == "1.013978" and e["scope"] == "national")


def test_land_refused_at_reception():
    _, done, ends = run(land_entry(), {"DD-TIEPNHAN": {"reception_result": "refuse",
                                                       "refusal_reason": "Thửa đất không thuộc địa bàn xã"}})
    assert done == ["Task_Reception"]
    assert ends == ["EndEvent_Refused"]


def test_land_computes_no_fee():
    """Fees and the land-use levy are set by each province and by the tax notice (issue 18): the
    diagram computes none, only the checks' summary."""
    workflow, _, _ = run(land_entry())
    data = workflow.last_task.data
    assert not {"fee", "appraisal_fee", "certificate_fee", "registration_fee_estimate", "obligation_total"} & set(data)
    assert data["area_difference_m2"] == 2.5
    assert data["eligible"] is True


def test_land_public_posting_waits_before_the_join():
    """After the commune's verification the workflow waits 15 days (the public posting) before the
    branch sends the file to the tax authority."""
    workflow, done, _ = run(land_entry(), events=(), require_complete=False)
    waiting = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.WAITING)]
    assert "Event_PublicPosting" in waiting and "Gateway_WaitTax" not in waiting
    assert set(done) == {"Task_Reception", "Task_CommuneVerification", "Task_FileCheck"}


def test_land_refused_by_leader_skips_cadastre_update():
    _, done, ends = run(land_entry(), {"DD-KY": {"decision": "refuse", "decision_note": "Đang có tranh chấp",
                                                 "certificate_number": ""}})
    assert "Task_UpdateCadastre" not in done and done[-1] == "Task_Return" and ends == ["EndEvent_Done"]


def test_land_tax_notice_then_payment():
    _, done, ends = run(land_entry(), events=("timer", "tax_notice", "payment_received"))
    expected = EXPECTED_PATHS[("national", "1.013978")]
    assert set(done[1:3]) == set(expected[1:3]) and done[3:] == expected[3:] and ends == ["EndEvent_Done"]


def test_land_tax_notice_without_payment_waits():
    workflow, done, _ = run(land_entry(), events=("timer", "tax_notice"), require_complete=False)
    assert not workflow.is_completed() and "Task_Draft" not in done
    assert "Gateway_WaitPayment" in [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.WAITING)]


def test_land_thirty_days_after_the_notice_without_payment_opens_the_follow_up():
    _, done, ends = run(land_entry(), events=("timer", "tax_notice", "timer"))
    assert done[done.index("Task_TaxFollowUp") + 1] == "Task_Draft" and ends == ["EndEvent_Done"]


def test_land_fifteen_days_without_notice_opens_the_follow_up():
    _, done, ends = run(land_entry(), events=("timer", "timer"))
    assert done.index("Task_TaxFollowUp") > done.index("Task_FileCheck")
    assert done[done.index("Task_TaxFollowUp") + 1] == "Task_Draft" and ends == ["EndEvent_Done"]


@pytest.mark.parametrize("scope", ["national", "01"])
def test_business_household_invalid_goes_to_refusal_notice(scope):
    entry = next(e for e in CATALOG if e["code"] == "1.001612" and e["scope"] == scope)
    workflow, done, ends = run(entry, {"HKD-THAMDINH": {"name_duplicate": True}})
    assert "Task_SignRefusal" in done and "Task_SignCertificate" not in done
    assert workflow.last_task.data["registration_valid"] is False
    assert len(workflow.last_task.data["problems"]) == 1 and ends == ["EndEvent_Done"]


def test_thai_nguyen_skips_site_verification_without_conditional_line():
    entry = next(e for e in CATALOG if e["code"] == "1.001612" and e["scope"] == "19")
    _, done, _ = run(entry, {"HKD-THAMDINH": {"conditional_business_line": False}})
    assert done == ["Task_Reception", "Task_Check", "Task_Sign", "Task_Return"]


def test_birth_late_registration_fee():
    entry = next(e for e in CATALOG if e["code"] == "1.001193")
    workflow, _, _ = run(entry)
    assert workflow.last_task.data["fee"] == 0 and workflow.last_task.data["late_registration"] is False
    workflow, _, _ = run(entry, {"KS-HOTICH": {"days_since_birth": 75}})
    assert workflow.last_task.data["fee"] > 0
    workflow, _, _ = run(entry, {"KS-HOTICH": {"days_since_birth": 75, "fee_exempt_group": True}})
    assert workflow.last_task.data["fee"] == 0


# ================================================================ catalogue fee == diagram fee (issue 18)
def catalog_decisions(entry):
    """The entry's DMN tables as a published version holds them ({decision id: XML})."""
    files = [(Path(name).name, (BPMN_DIR / name).read_bytes()) for name in entry.get("dmn", ())]
    return decisions.read_documents(files, 1_000_000)


def form_data(overrides=None):
    """What a dossier's data holds after its forms (the payment request reads these)."""
    merged = {}
    for form_id, sample in SAMPLES.items():
        merged.update({**sample, **((overrides or {}).get(form_id) or {})})
    return merged


FEE_CASES = [
    (("national", "1.001193"), {"KS-HOTICH": {"days_since_birth": 21}}, 0),
    (("national", "1.001193"), {"KS-HOTICH": {"days_since_birth": 60}}, 0),
    (("national", "1.001193"), {"KS-HOTICH": {"days_since_birth": 61}}, 8000),
    (("national", "1.001193"), {"KS-HOTICH": {"days_since_birth": 400, "fee_exempt_group": True}}, 0),
]


@pytest.mark.parametrize("entry", CATALOG, ids=entry_id)
def test_catalog_fee_agrees_with_diagram(entry):
    """The amount a payment request computes from the catalogue's fee rule is the `fee` the
    diagram computes for the same data (a free catalogue and a charging diagram asked 0 before)."""
    if entry["fee"]["kind"] == "provincial":  # set by the province and the tax notice: the officer states it
        workflow, _, _ = run(entry)
        assert "fee" not in workflow.last_task.data
        with pytest.raises(Invalid) as exc:
            fees.compute(entry["fee"], form_data(), catalog_decisions(entry))
        assert "amount" in exc.value.fields and "amount" not in entry["fee"]
        return
    cases = [(o, expected) for key, o, expected in FEE_CASES if key == (entry["scope"], entry["code"])] or [({}, None)]
    for overrides, expected in cases:
        workflow, _, _ = run(entry, overrides)
        amount = fees.compute(entry["fee"], form_data(overrides), catalog_decisions(entry))
        diagram_fee = workflow.last_task.data.get("fee")
        if diagram_fee is not None:
            assert amount == diagram_fee, (overrides, amount, diagram_fee)
        elif entry["fee"]["kind"] == "fixed":
            assert amount == entry["fee"]["amount"]
        if expected is not None:
            assert amount == expected, overrides


def test_variants_differ_from_national_template():
    by_scope = {e["scope"]: e for e in CATALOG if e["code"] == "1.001612"}
    national = EXPECTED_PATHS[("national", "1.001612")]
    assert EXPECTED_PATHS[("01", "1.001612")] != national
    assert EXPECTED_PATHS[("19", "1.001612")] != national
    assert by_scope["19"]["deadline_days"] < by_scope["national"]["deadline_days"]
    hanoi_lanes = {l.get("name") for l in load_tree(by_scope["01"]).xpath("//bpmn:lane", namespaces=NS)}
    assert "province/service-center/reception" in hanoi_lanes
    assert is_camunda(BPMN_DIR / by_scope["19"]["file"])


# ---------------------------------------------------------------- over HTTP (both databases)
BIRTH_DATA = {"child_full_name": "Trần Minh Khôi", "child_sex": "male", "child_date_of_birth": "2026-09-01",
              "child_place_of_birth": "Bệnh viện Phụ sản Hà Nội", "child_ethnicity": "Kinh",
              "child_nationality": "Việt Nam", "birth_proof_type": "birth_certificate",
              "mother_full_name": "Lê Thị Hoa", "requester_full_name": "Lê Thị Hoa",
              "requester_id_number": "001190012345", "requester_relationship": "mother"}


def birth_payment_request(api, days_since_birth):
    """A walk-in birth registration recorded `days_since_birth` days after the birth, then the
    officer requests payment without stating an amount: the response of that request."""
    r = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "data": BIRTH_DATA,
        "applicant": {"full_name": "Lê Thị Hoa", "id_number": "001190012345", "phone": "0987654321"}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    code, [record] = body["code"], body["current_tasks"]
    # before the registry step there is no day count: a clear 409 naming the table, never a 500
    early = api.post(f"/dossiers/{code}/actions/request-payment", "specialist.00070", json={})
    assert early.status_code == 409 and "birth_registration_fee" in early.get_json()["error"]["message"]
    r = api.post(f"/tasks/{record['id']}/complete", "specialist.00070",
                 json={"data": {**SAMPLES["KS-HOTICH"], "days_since_birth": days_since_birth}})
    assert r.status_code == 200, r.get_json()
    return api.post(f"/dossiers/{code}/actions/request-payment", "specialist.00070", json={})


def test_birth_registration_payment_request_asks_the_late_fee_only_when_late(app, api):
    late = birth_payment_request(api, 75)
    assert late.status_code == 200, late.get_json()
    assert late.get_json()["status"] == 6 and late.get_json()["paused"][-1]["amount"] == 8000
    on_time = birth_payment_request(api, 30)
    assert on_time.status_code == 200, on_time.get_json()
    assert on_time.get_json()["paused"][-1]["amount"] == 0
