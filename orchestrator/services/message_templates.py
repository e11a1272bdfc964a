"""Notification templates (issue 24): what each event says on each channel, Vietnamese first.

Three levels, the nearest wins: a province's row, the national row (`province_code` NULL), the
built-in default below (`DEFAULTS`). Administrators edit rows in the back office
(`save_template`, `reset_template`, `preview`; the rule is `access.may_edit_message_templates`);
the outbox renders with `render`.

Templates are written by people, so they are untrusted code: Jinja2's
`ImmutableSandboxedEnvironment` without a loader, a short allow-list of filters and string
methods, no names or attributes starting with '_', no macros, imports or recursive loops, at most
two nested loops, a capped `range`, capped `*`/`**`/`%`, a source size limit, an output cap and a
rendering deadline. A save is refused with the problem named (`Rejected`, 422); a stored row that
still fails at render time (written straight to the database) is not used: `render` falls back to
the next level and says why in `Rendered.problem`.

Values are given already formatted (dates `dd/mm/yyyy`, amounts `50.000 đồng`) and are the least
personal data the message needs: no identity numbers, no addresses, no dates of birth.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import Unit
from ..models.message_templates import CHANNELS, MessageTemplate
from ..models.types import utcnow
from . import access, audit
from .auth import Actor
from .errors import Invalid, Rejected

# -- events and their variables ---------------------------------------------------------------------

CITIZEN, OFFICER = "citizen", "officer"

# event -> (audience, what it is, the variables a template may use)
EVENTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "dossier.received": (CITIZEN, vi("Đã tiếp nhận hồ sơ"),
                         ("code", "procedure_name", "unit_name", "due_date", "tracking_url")),
    "supplement.requested": (CITIZEN, vi("Yêu cầu bổ sung hồ sơ"),
                             ("code", "procedure_name", "unit_name", "items", "place", "due_date", "tracking_url")),
    "payment.requested": (CITIZEN, vi("Yêu cầu nộp phí, lệ phí"),
                          ("code", "procedure_name", "unit_name", "amount", "payment_instructions", "due_date",
                           "tracking_url")),
    "dossier.delayed": (CITIZEN, vi("Xin lỗi, hẹn lại ngày trả kết quả"),
                        ("code", "procedure_name", "unit_name", "new_due_date", "reason", "tracking_url")),
    "result.ready": (CITIZEN, vi("Đã có kết quả / đã trả kết quả"),
                     ("code", "procedure_name", "unit_name", "place", "returned", "tracking_url")),
    "dossier.refused": (CITIZEN, vi("Từ chối hoặc dừng giải quyết hồ sơ"),
                        ("code", "procedure_name", "unit_name", "reason", "tracking_url")),
    "task.assigned": (OFFICER, vi("Được giao xử lý"),
                      ("officer_name", "code", "procedure_name", "step_name", "due_date", "task_url",
                       "message")),
    "task.returned": (OFFICER, vi("Hồ sơ bị trả lại"),
                      ("officer_name", "code", "procedure_name", "step_name", "reason", "due_date", "task_url",
                       "message")),
    "task.due_tomorrow": (OFFICER, vi("Đến hạn vào ngày mai"),
                          ("officer_name", "code", "procedure_name", "step_name", "due_date", "task_url",
                           "message")),
    "task.overdue": (OFFICER, vi("Đã quá hạn"),
                     ("officer_name", "code", "procedure_name", "step_name", "due_date", "task_url",
                      "message")),
    "supplement.received": (OFFICER, vi("Công dân đã bổ sung hồ sơ"),
                            ("officer_name", "code", "procedure_name", "step_name", "task_url",
                             "message")),
}

# What each variable holds (the back office shows it beside the form), with the preview's sample.
VARIABLES: dict[str, tuple[str, object]] = {
    "code": (vi("mã hồ sơ"), "000.00.70.H26-261201-0001"),
    "procedure_name": (vi("tên thủ tục"), "Đăng ký khai sinh"),
    "unit_name": (vi("tên cơ quan giải quyết"), "UBND phường Hoàn Kiếm"),
    "due_date": (vi("ngày hẹn trả / hạn (dd/mm/yyyy)"), "15/12/2026"),
    "new_due_date": (vi("ngày hẹn trả mới (dd/mm/yyyy)"), "22/12/2026"),
    "tracking_url": (vi("đường dẫn tra cứu hồ sơ"), "https://dichvucong.example.vn/tra-cuu?code=000.00.70.H26-261201-0001"),
    "items": (vi("danh sách giấy tờ cần bổ sung"), ["Bản sao giấy chứng sinh", "Giấy đăng ký kết hôn của cha mẹ"]),
    "place": (vi("nơi nộp bổ sung / nhận kết quả"), "Bộ phận Một cửa UBND phường Hoàn Kiếm"),
    "amount": (vi("số tiền (đã định dạng)"), "50.000 đồng"),
    "payment_instructions": (vi("cách nộp tiền"), "Thanh toán trực tuyến qua Cổng Dịch vụ công hoặc nộp tại Bộ phận Một cửa."),
    "reason": (vi("lý do"), "Hồ sơ cần xác minh thêm thông tin với cơ quan liên quan"),
    "returned": (vi("đã trả kết quả (đúng/sai)"), False),
    "officer_name": (vi("họ tên cán bộ nhận thông báo"), "Nguyễn Văn An"),
    "step_name": (vi("tên bước xử lý"), "Thẩm định hồ sơ"),
    "message": (vi("nội dung thông báo trên chuông (khi không gắn với hồ sơ nào)"),
                "Bạn nhận 2 việc của Nguyễn Văn Bình (làm thay đến 20/12/2026)."),
    "task_url": (vi("đường dẫn tới hồ sơ trong trang quản trị"),
                 "https://motcua.example.vn/admin/dossiers/000.00.70.H26-261201-0001"),
}


def channels_of(event: str) -> tuple[str, ...]:
    """Citizens are told on every channel they chose; officers by email (their daily digest)."""
    return CHANNELS if EVENTS[event][0] == CITIZEN else ("email",)


# -- built-in defaults --------------------------------------------------------------------------------
# Zalo ZNS sends a template registered with Zalo (its id is configuration or the row's
# `zns_template_id`) with named parameters: the body is one `name = template` line per parameter.

_SIGN = "\n\nTrân trọng,\n{{ unit_name or 'Bộ phận Một cửa' }}"

DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "dossier.received": {
        "email": {"subject": "Đã tiếp nhận hồ sơ {{ code }}",
                  "body": "Kính gửi Ông/Bà,\n\n{{ unit_name or 'Cơ quan chúng tôi' }} đã tiếp nhận hồ sơ {{ code }}"
                          " ({{ procedure_name }}).\nNgày hẹn trả kết quả: {{ due_date }}.\n"
                          "Ông/Bà có thể theo dõi tình trạng hồ sơ tại: {{ tracking_url }}" + _SIGN},
        "sms": {"body": "Hồ sơ {{ code }} đã được tiếp nhận, hẹn trả {{ due_date }}. Tra cứu: {{ tracking_url }}"},
        "zalo": {"body": "code = {{ code }}\nprocedure_name = {{ procedure_name }}\ndue_date = {{ due_date }}"},
    },
    "supplement.requested": {
        "email": {"subject": "Đề nghị bổ sung hồ sơ {{ code }}",
                  "body": "Kính gửi Ông/Bà,\n\nĐể tiếp tục giải quyết hồ sơ {{ code }} ({{ procedure_name }}),"
                          " đề nghị Ông/Bà bổ sung:\n{% for item in items %}- {{ item }}\n{% endfor %}"
                          "\nNơi nộp: {{ place }}.\nHạn bổ sung: {{ due_date }}.\n"
                          "Chi tiết tại: {{ tracking_url }}" + _SIGN},
        "sms": {"body": "Hồ sơ {{ code }} cần bổ sung: {{ items|join(', ') }}. Nộp tại {{ place }}"
                        " trước {{ due_date }}."},
        "zalo": {"body": "code = {{ code }}\nitems = {{ items|join(', ') }}\nplace = {{ place }}\n"
                         "due_date = {{ due_date }}"},
    },
    "payment.requested": {
        "email": {"subject": "Đề nghị nộp phí, lệ phí hồ sơ {{ code }}",
                  "body": "Kính gửi Ông/Bà,\n\nHồ sơ {{ code }} ({{ procedure_name }}) cần nộp {{ amount }}.\n"
                          "Cách nộp: {{ payment_instructions }}\n"
                          "{% if due_date %}Hạn nộp: {{ due_date }}.\n{% endif %}"
                          "Chi tiết tại: {{ tracking_url }}" + _SIGN},
        "sms": {"body": "Hồ sơ {{ code }}: đề nghị nộp {{ amount }}. {{ payment_instructions }}"},
        "zalo": {"body": "code = {{ code }}\namount = {{ amount }}\ndue_date = {{ due_date }}"},
    },
    "dossier.delayed": {
        "email": {"subject": "Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {{ code }}",
                  "body": "Kính gửi Ông/Bà,\n\n{{ unit_name or 'Cơ quan chúng tôi' }} chân thành xin lỗi vì hồ sơ"
                          " {{ code }} ({{ procedure_name }}) chưa giải quyết xong đúng hẹn"
                          "{% if reason %}, lý do: {{ reason }}{% endif %}.\n"
                          "Ngày hẹn trả kết quả mới: {{ new_due_date }}.\n"
                          "Mong Ông/Bà thông cảm. Theo dõi hồ sơ tại: {{ tracking_url }}" + _SIGN},
        "sms": {"body": "Xin lỗi Ông/Bà: hồ sơ {{ code }} chậm so với hẹn. Ngày hẹn trả mới: {{ new_due_date }}."},
        "zalo": {"body": "code = {{ code }}\nnew_due_date = {{ new_due_date }}\nreason = {{ reason }}"},
    },
    "result.ready": {
        "email": {"subject": "{% if returned %}Đã trả kết quả{% else %}Đã có kết quả{% endif %} hồ sơ {{ code }}",
                  "body": "Kính gửi Ông/Bà,\n\n{% if returned %}Hồ sơ {{ code }} ({{ procedure_name }}) đã được trả"
                          " kết quả. Cảm ơn Ông/Bà đã sử dụng dịch vụ; mời Ông/Bà đánh giá mức độ hài lòng tại:"
                          " {{ tracking_url }}{% else %}Hồ sơ {{ code }} ({{ procedure_name }}) đã có kết quả."
                          "\nMời Ông/Bà nhận kết quả tại: {{ place }}.\nChi tiết: {{ tracking_url }}{% endif %}"
                  + _SIGN},
        "sms": {"body": "{% if returned %}Hồ sơ {{ code }} đã trả kết quả. Cảm ơn Ông/Bà.{% else %}Hồ sơ {{ code }}"
                        " đã có kết quả, mời nhận tại {{ place }}.{% endif %}"},
        "zalo": {"body": "code = {{ code }}\nplace = {{ place }}"},
    },
    "dossier.refused": {
        "email": {"subject": "Thông báo về hồ sơ {{ code }}",
                  "body": "Kính gửi Ông/Bà,\n\n{{ unit_name or 'Cơ quan chúng tôi' }} rất tiếc thông báo hồ sơ"
                          " {{ code }} ({{ procedure_name }}) không được tiếp tục giải quyết.\n"
                          "Lý do: {{ reason }}.\nChi tiết tại: {{ tracking_url }}" + _SIGN},
        "sms": {"body": "Hồ sơ {{ code }} không được tiếp tục giải quyết. Lý do: {{ reason }}."},
        "zalo": {"body": "code = {{ code }}\nreason = {{ reason }}"},
    },
    # officers' events: one short line each, as the daily digest lists them (services/officer_digest.py)
    "task.assigned": {
        "email": {"subject": "Việc mới: hồ sơ {{ code }}",
                  "body": "{% if code %}{{ code }} ({{ procedure_name }}): được giao xử lý"
                          "{% if step_name %} bước «{{ step_name }}»{% endif %}"
                          "{% if due_date %}, hạn {{ due_date }}{% endif %}.{% if task_url %} {{ task_url }}{% endif %}"
                          "{% else %}{{ message }}{% endif %}"},
    },
    "task.returned": {
        "email": {"subject": "Hồ sơ {{ code }} bị trả lại",
                  "body": "{% if code %}{{ code }} ({{ procedure_name }}): bị trả về"
                          "{% if step_name %} bước «{{ step_name }}»{% endif %}"
                          "{% if reason %}, lý do: {{ reason }}{% endif %}.{% if task_url %} {{ task_url }}{% endif %}"
                          "{% else %}{{ message }}{% endif %}"},
    },
    "task.due_tomorrow": {
        "email": {"subject": "Hồ sơ {{ code }} đến hạn ngày mai",
                  "body": "{% if code %}{{ code }} ({{ procedure_name }}): đến hạn"
                          "{% if due_date %} ngày {{ due_date }}{% endif %}"
                          "{% if step_name %} (bước «{{ step_name }}»){% endif %}.{% if task_url %} {{ task_url }}{% endif %}"
                          "{% else %}{{ message }}{% endif %}"},
    },
    "task.overdue": {
        "email": {"subject": "Hồ sơ {{ code }} đã quá hạn",
                  "body": "{% if code %}{{ code }} ({{ procedure_name }}): đã quá hạn"
                          "{% if due_date %} {{ due_date }}{% endif %}"
                          "{% if step_name %} (bước «{{ step_name }}»){% endif %}, đề nghị xử lý ngay."
                          "{% if task_url %} {{ task_url }}{% endif %}{% else %}{{ message }}{% endif %}"},
    },
    "supplement.received": {
        "email": {"subject": "Hồ sơ {{ code }} đã được bổ sung",
                  "body": "{% if code %}{{ code }} ({{ procedure_name }}): công dân đã bổ sung hồ sơ"
                          "{% if step_name %}, bước «{{ step_name }}» có thể tiếp tục{% endif %}."
                          "{% if task_url %} {{ task_url }}{% endif %}{% else %}{{ message }}{% endif %}"},
    },
}

# -- limits -------------------------------------------------------------------------------------------

MAX_BODY = 8 * 1024            # bytes of a body's source
MAX_SUBJECT = 500              # characters of a subject's source
MAX_ZNS_ID = 100
MAX_OUTPUT = 32 * 1024         # characters a rendering may produce
MAX_RANGE = 100                # items `range` gives
MAX_SEQUENCE = 500             # length of a string or list built by `*`
MAX_INT_BITS = 4096            # size of numbers built by `*` and `**`
MAX_LOOP_DEPTH = 2
RENDER_SECONDS = 1.0
SMS_SEGMENT = 70               # UCS-2 characters per SMS (Vietnamese has diacritics)

FILTERS = ("capitalize", "default", "d", "first", "float", "int", "join", "last", "length", "count", "lower",
           "upper", "replace", "round", "string", "title", "trim", "truncate", "sort", "unique", "reverse",
           "abs", "max", "min", "sum", "wordcount")
STR_METHODS = frozenset({"upper", "lower", "strip", "title", "capitalize", "startswith", "endswith", "replace"})
_PARAM_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]{0,49})\s*=(.*)$")
_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(\*|\d{3,})|%[-#0 +]*\d*\.(\*|\d{3,})")


class _Deadline:
    at = 0.0


def _undefined_class(deadline: _Deadline):
    class Quiet(ChainableUndefined):
        """An unknown name renders as nothing; an unsafe attribute (the sandbox's) fails loudly."""
        __slots__ = ()

        def _unsafe(self) -> bool:
            return self._undefined_exception is SecurityError

        def __str__(self):
            if self._unsafe():
                self._fail_with_undefined_error()
            return ""

        def __iter__(self):
            if self._unsafe():
                self._fail_with_undefined_error()
            return iter(())

        def __getattr__(self, name):
            if name[:2] == "__" or self._unsafe():
                self._fail_with_undefined_error()
            return self

    return Quiet


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox with this module's allow-lists and caps (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "%", "//"})

    def __init__(self):
        self.deadline = _Deadline()
        super().__init__(autoescape=False, undefined=_undefined_class(self.deadline), loader=None,
                         keep_trailing_newline=True)
        self.globals.clear()
        self.globals["range"] = _range
        self.filters = {name: self.filters[name] for name in FILTERS}

    def _tick(self) -> None:
        if time.monotonic() > self.deadline.at:
            raise SecurityError(vi("Hiển thị mẫu quá %(n)s giây.", n=RENDER_SECONDS))

    def is_safe_attribute(self, obj, attr, value) -> bool:
        if isinstance(obj, str) and attr not in STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value):
        return None  # `str.format` and `format_map` are not on the allow-list

    def getattr(self, obj, attribute):
        self._tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        self._tick()
        if isinstance(argument, str) and argument.startswith("_"):
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def call(self, __context, __obj, *args, **kwargs):
        self._tick()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context, operator, left, right):
        self._tick()
        if operator == "**":
            if isinstance(left, (int, float)) and isinstance(right, (int, float)):
                if abs(right) > 64 or (isinstance(left, int) and abs(left).bit_length() * abs(right) > MAX_INT_BITS):
                    raise SecurityError(vi("Số quá lớn."))
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
                    raise SecurityError(vi("Chuỗi hoặc danh sách quá dài (tối đa %(n)s).", n=MAX_SEQUENCE))
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise SecurityError(vi("Số quá lớn."))
        elif operator == "%" and isinstance(left, str) and _PERCENT_WIDTH.search(left):
            raise SecurityError(vi("Độ rộng định dạng quá lớn."))
        return super().call_binop(context, operator, left, right)


def _range(*args):
    """`range` of at most MAX_RANGE items."""
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(vi("range tối đa %(n)s phần tử.", n=MAX_RANGE))
    return r


_ENV = _Environment()

# -- checking a template's source ------------------------------------------------------------------------


@dataclass
class Check:
    """What is wrong with a template's source: refusals (`errors`) and unknown variables."""
    errors: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _unsafe_nodes(tree: nodes.Template) -> list[str]:
    problems: list[str] = []

    def depth_of_loops(node, depth=0) -> int:
        here = depth + 1 if isinstance(node, nodes.For) else depth
        return max([here, *(depth_of_loops(child, here) for child in node.iter_child_nodes())])

    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Filter, nodes.Macro,
                               nodes.CallBlock, nodes.For, nodes.Include, nodes.Import, nodes.FromImport,
                               nodes.Extends, nodes.Block)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            problems.append(vi("Dòng %(line)s: không được truy cập thuộc tính '%(name)s' (bắt đầu bằng '_').",
                               line=node.lineno, name=node.attr))
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            problems.append(vi("Dòng %(line)s: không được truy cập thuộc tính '%(name)s' (bắt đầu bằng '_').",
                               line=node.lineno, name=node.arg.value))
        elif isinstance(node, nodes.Name) and (node.name.startswith("_") or node.name == "self"):
            problems.append(vi("Dòng %(line)s: không được dùng tên '%(name)s'.", line=node.lineno, name=node.name))
        elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
            problems.append(vi("Dòng %(line)s: không được dùng bộ lọc '%(name)s'.", line=node.lineno, name=node.name))
        elif isinstance(node, nodes.For) and node.recursive:
            problems.append(vi("Dòng %(line)s: không được dùng vòng lặp đệ quy.", line=node.lineno))
        elif isinstance(node, (nodes.Macro, nodes.CallBlock, nodes.Include, nodes.Import, nodes.FromImport,
                               nodes.Extends, nodes.Block)):
            problems.append(vi("Dòng %(line)s: mẫu thông báo không được dùng macro, call, include, import,"
                               " extends hay block.", line=node.lineno))
    if depth_of_loops(tree) > MAX_LOOP_DEPTH:
        problems.append(vi("Không được lồng quá %(n)s vòng lặp.", n=MAX_LOOP_DEPTH))
    return problems


def check_source(source: str, variables: tuple[str, ...], field_name: str) -> Check:
    """Syntax, unsafe constructs and unknown variables of one template (a subject, a body, a line)."""
    result = Check()
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as e:
        result.errors.append(vi("%(field)s: lỗi cú pháp ở dòng %(line)s: %(error)s", field=field_name,
                                line=e.lineno, error=e.message or ""))
        return result
    result.errors += [vi("%(field)s: %(problem)s", field=field_name, problem=p) for p in _unsafe_nodes(tree)]
    if result.errors:
        return result
    allowed = set(variables) | set(_ENV.globals)
    try:
        result.unknown = sorted(n for n in meta.find_undeclared_variables(tree) if n not in allowed)
    except TemplateSyntaxError as e:  # compile-time checks (an unknown test ...)
        result.errors.append(vi("%(field)s: lỗi cú pháp ở dòng %(line)s: %(error)s", field=field_name,
                                line=e.lineno, error=e.message or ""))
    return result


def _param_lines(body: str) -> list[tuple[str, str]]:
    """A Zalo body's `name = template` lines (blank lines skipped); a malformed line raises Rejected."""
    pairs = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        match = _PARAM_LINE.match(line)
        if not match:
            raise Rejected(vi("Nội dung Zalo: dòng %(line)s phải có dạng 'tên_tham_số = giá trị'.", line=number),
                           fields={"body": vi("dòng %(line)s", line=number)}, code="template_invalid")
        pairs.append((match.group(1), match.group(2).strip()))
    return pairs


# -- rendering ------------------------------------------------------------------------------------------


@dataclass
class Rendered:
    subject: str | None
    body: str
    zns_template_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    source: str = "builtin"        # "province", "national" or "builtin": whose template said it
    problem: str | None = None     # why a stored template was passed over (it failed at render time)


def _render_one(source: str, context: dict) -> str:
    """One template's text, in the sandbox, with the output cap and the deadline."""
    if len(source.encode()) > MAX_BODY:
        raise SecurityError(vi("Mẫu quá dài: tối đa %(n)s byte.", n=MAX_BODY))
    _ENV.deadline.at = time.monotonic() + RENDER_SECONDS
    template = _ENV.from_string(source)
    out, size = [], 0
    for chunk in template.generate(**context):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(vi("Nội dung tạo ra quá dài: tối đa %(n)s ký tự.", n=MAX_OUTPUT))
        _ENV._tick()
        out.append(chunk)
    return "".join(out)


def _render_texts(channel: str, subject: str | None, body: str, zns_template_id: str | None,
                  context: dict, source: str) -> Rendered:
    if channel == "zalo":
        params = {name: _render_one(value, context).strip() for name, value in _param_lines(body)}
        return Rendered(None, "\n".join(f"{k}: {v}" for k, v in params.items()), zns_template_id, params, source)
    return Rendered(_render_one(subject, context).strip() if channel == "email" and subject else None,
                    _render_one(body, context).strip(), None, {}, source)


def _check_event(event: str, channel: str) -> None:
    if event not in EVENTS:
        raise Invalid(vi("Không có sự kiện '%(event)s'.", event=event), fields={"event": vi("không hợp lệ")})
    if channel not in channels_of(event):
        raise Invalid(vi("Sự kiện '%(event)s' không gửi qua kênh '%(channel)s'.", event=event, channel=channel),
                      fields={"channel": vi("không hợp lệ")})


def _national(province_code: str | None) -> str | None:
    return None if province_code in (None, "", "VN") else province_code


def stored(session: Session, province_code: str | None, event: str, channel: str) -> MessageTemplate | None:
    """The row of exactly this level (a province's, or the national one for None / "VN")."""
    province_code = _national(province_code)
    where = MessageTemplate.province_code.is_(None) if province_code is None else \
        MessageTemplate.province_code == province_code
    return session.scalar(select(MessageTemplate).where(where, MessageTemplate.event == event,
                                                        MessageTemplate.channel == channel))


def render(session: Session, *, province_code: str | None, event: str, channel: str, context: dict) -> Rendered:
    """The message of an event on a channel for a province: its row, else the national row, else
    the built-in default. A stored row that fails (a payload written past `save_template`, an
    output too large) is passed over for the next level, and `problem` says why."""
    _check_event(event, channel)
    province_code = _national(province_code)
    rows = session.scalars(select(MessageTemplate).where(
        MessageTemplate.event == event, MessageTemplate.channel == channel,
        (MessageTemplate.province_code.is_(None)) | (MessageTemplate.province_code == province_code)
        if province_code else MessageTemplate.province_code.is_(None))).all()
    ordered = sorted(rows, key=lambda r: r.province_code is None)  # the province's first
    problem = None
    for row in ordered:
        level = "national" if row.province_code is None else "province"
        checked = [check_source(row.body, (), "body")] + ([check_source(row.subject, (), "subject")]
                                                          if row.subject else [])
        errors = [e for c in checked for e in c.errors]
        try:
            if errors:
                raise SecurityError(errors[0])
            return _with_problem(_render_texts(channel, row.subject, row.body, row.zns_template_id, context, level),
                                 problem)
        except (TemplateError, Rejected, ValueError, TypeError, ArithmeticError, RecursionError) as e:
            problem = vi("Mẫu %(level)s của %(event)s/%(channel)s không dùng được: %(error)s", level=level,
                         event=event, channel=channel, error=str(e))
    default = DEFAULTS[event][channel]
    return _with_problem(_render_texts(channel, default.get("subject"), default["body"], None, context, "builtin"),
                         problem)


def _with_problem(rendered: Rendered, problem: str | None) -> Rendered:
    rendered.problem = problem
    return rendered


# -- administrators' edits -------------------------------------------------------------------------------


@dataclass
class Preview:
    rendered: Rendered | None
    errors: list[str]
    unknown: list[str]
    warnings: list[str] = field(default_factory=list)


def sample_context(event: str) -> dict:
    return {name: VARIABLES[name][1] for name in EVENTS[event][2]}


def _scope(session: Session, actor: Actor, province_code: str | None) -> str | None:
    """The level an administrator may edit: national (None) for VN's, a province for its own."""
    province_code = _national(province_code)
    access.may_edit_message_templates(actor, province_code or "VN")
    if province_code is not None:
        unit = session.get(Unit, province_code)
        if unit is None or unit.level != "province":
            raise Invalid(vi("Phạm vi phải là VN hoặc mã tỉnh."), fields={"scope": vi("VN | mã tỉnh")})
    return province_code


def preview(session: Session, actor: Actor, province_code: str | None, event: str, channel: str,
            subject: str | None, body: str, zns_template_id: str | None = None) -> Preview:
    """The form's text rendered with sample values, or what is wrong with it (nothing saved)."""
    _scope(session, actor, province_code)
    _check_event(event, channel)
    return _preview(event, channel, subject, body, zns_template_id)


def _preview(event: str, channel: str, subject: str | None, body: str, zns_template_id: str | None) -> Preview:
    variables = EVENTS[event][2]
    errors: list[str] = []
    unknown: set[str] = set()
    if len((body or "").encode()) > MAX_BODY:
        errors.append(vi("Nội dung quá dài: tối đa %(n)s byte.", n=MAX_BODY))
    if channel == "email" and len(subject or "") > MAX_SUBJECT:
        errors.append(vi("Tiêu đề quá dài: tối đa %(n)s ký tự.", n=MAX_SUBJECT))
    if len(zns_template_id or "") > MAX_ZNS_ID:
        errors.append(vi("Mã mẫu ZNS quá dài: tối đa %(n)s ký tự.", n=MAX_ZNS_ID))
    if not (body or "").strip():
        errors.append(vi("Nội dung không được để trống."))
    if errors:
        return Preview(None, errors, [])
    parts = [("subject", subject)] if channel == "email" and subject else []
    if channel == "zalo":
        try:
            parts += [("body", value) for _, value in _param_lines(body)]
        except Rejected as e:
            return Preview(None, [e.message], [])
    else:
        parts.append(("body", body))
    for name, source in parts:
        label = vi("Tiêu đề") if name == "subject" else vi("Nội dung")
        checked = check_source(source, variables, label)
        errors += checked.errors
        unknown |= set(checked.unknown)
    if errors:
        return Preview(None, errors, sorted(unknown))
    try:
        rendered = _render_texts(channel, subject, body, zns_template_id, sample_context(event), "preview")
    except (TemplateError, ValueError, TypeError, ArithmeticError, RecursionError) as e:
        return Preview(None, [vi("Không hiển thị được mẫu (truy cập không an toàn hoặc vượt giới hạn): %(error)s",
                                 error=str(e))], sorted(unknown))
    warnings = []
    if channel == "sms" and len(rendered.body) > SMS_SEGMENT:
        warnings.append(vi("Tin nhắn dài %(n)s ký tự: %(parts)s tin SMS (%(size)s ký tự có dấu mỗi tin).",
                           n=len(rendered.body), parts=-(-len(rendered.body) // SMS_SEGMENT), size=SMS_SEGMENT))
    return Preview(rendered, [], sorted(unknown), warnings)


def save_template(session: Session, actor: Actor, province_code: str | None, event: str, channel: str,
                  subject: str | None, body: str, zns_template_id: str | None = None) -> MessageTemplate:
    """Write the level's row (created or replaced), audited; refused (422, the problem named) on a
    syntax error, an unsafe construct, an unknown variable or a size limit."""
    province_code = _scope(session, actor, province_code)
    _check_event(event, channel)
    subject = (subject or "").strip() if channel == "email" else None
    zns_template_id = (zns_template_id or "").strip() or None if channel == "zalo" else None
    body = (body or "").replace("\r\n", "\n")
    result = _preview(event, channel, subject, body, zns_template_id)
    if result.errors:
        raise Rejected(vi("Mẫu không hợp lệ: %(problems)s", problems="; ".join(result.errors)),
                       fields={"body": result.errors[0]}, problems=list(result.errors), code="template_invalid")
    if result.unknown:
        raise Rejected(vi("Mẫu dùng biến không có: %(names)s. Biến được dùng: %(allowed)s.",
                          names=", ".join(result.unknown), allowed=", ".join(EVENTS[event][2])),
                       fields={"body": vi("biến không có")}, code="template_invalid")
    row = stored(session, province_code, event, channel)
    if row is None:
        row = MessageTemplate(province_code=province_code, event=event, channel=channel)
        session.add(row)
    row.subject, row.body, row.zns_template_id = subject, body, zns_template_id
    row.updated_at, row.updated_by = utcnow(), actor.name
    session.flush()
    audit.record(session, "message_template.save", actor.name, unit_code=province_code,
                 note=f"{province_code or 'VN'} {event}/{channel}")
    return row


def reset_template(session: Session, actor: Actor, province_code: str | None, event: str, channel: str) -> bool:
    """Remove the level's row: the next level applies again. False when there was none."""
    province_code = _scope(session, actor, province_code)
    _check_event(event, channel)
    row = stored(session, province_code, event, channel)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    audit.record(session, "message_template.reset", actor.name, unit_code=province_code,
                 note=f"{province_code or 'VN'} {event}/{channel}")
    return True


@dataclass
class Cell:
    event: str
    channel: str
    status: str                    # "builtin", "national" or "province": the level that applies
    updated_by: str | None = None


def matrix(session: Session, actor: Actor, province_code: str | None) -> list[tuple[str, list[Cell]]]:
    """Each event with its channels and the level that applies to the scope."""
    province_code = _scope(session, actor, province_code)
    where = MessageTemplate.province_code.is_(None)
    if province_code:
        where = where | (MessageTemplate.province_code == province_code)
    rows = {(r.province_code, r.event, r.channel): r for r in session.scalars(select(MessageTemplate).where(where))}
    out = []
    for event in EVENTS:
        cells = []
        for channel in channels_of(event):
            row = rows.get((province_code, event, channel)) if province_code else None
            national = rows.get((None, event, channel))
            if row is not None:
                cells.append(Cell(event, channel, "province", row.updated_by))
            elif national is not None:
                cells.append(Cell(event, channel, "national", national.updated_by))
            else:
                cells.append(Cell(event, channel, "builtin"))
        out.append((event, cells))
    return out


def effective_text(session: Session, province_code: str | None, event: str, channel: str) -> tuple[dict, str]:
    """The text the editor starts from (the level's row, else what it inherits) and whose it is."""
    province_code = _national(province_code)
    for code, level in ((province_code, "province"), (None, "national")) if province_code else ((None, "national"),):
        row = stored(session, code, event, channel)
        if row is not None:
            return {"subject": row.subject or "", "body": row.body, "zns_template_id": row.zns_template_id or ""}, level
    default = DEFAULTS[event][channel]
    return {"subject": default.get("subject", ""), "body": default["body"], "zns_template_id": ""}, "builtin"
