"""The language of the API's error messages: Vietnamese by default, English when the request's
`Accept-Language` prefers it. The edge's own messages (the envelope's, marshmallow's and webargs'
per-field messages, Werkzeug's and the rate limiter's) follow the header, and so do the messages of
the rules (services), written with `orchestrator.i18n.vi` and rendered from the English catalogue.

marshmallow and its validators speak English: their texts are matched here (`FIELD_MESSAGES`, keyed
by marshmallow's own templates, `{name}` standing for a value) and given in Vietnamese; the schemas'
own Vietnamese messages (`error=` of a validator) get their English in `SCHEMA_MESSAGES`."""
from __future__ import annotations

import re

from flask import request
from flask_babel import force_locale, gettext

from orchestrator.i18n import render

# marshmallow 3's messages (fields and validators) -> Vietnamese; `{x}` is any value, kept as sent.
FIELD_MESSAGES: dict[str, str] = {
    "Missing data for required field.": "Thiếu dữ liệu bắt buộc.",
    "Field may not be null.": "Không được để null.",
    "Invalid value.": "Giá trị không hợp lệ.",
    "Invalid type.": "Kiểu dữ liệu không hợp lệ.",
    "Invalid input type.": "Kiểu dữ liệu không hợp lệ.",
    "Invalid input.": "Dữ liệu không hợp lệ.",
    "Unknown field.": "Trường không được chấp nhận.",
    "Not a valid list.": "Phải là một danh sách.",
    "Not a valid tuple.": "Phải là một danh sách.",
    "Not a valid string.": "Phải là chuỗi ký tự.",
    "Not a valid utf-8 string.": "Chuỗi UTF-8 không hợp lệ.",
    "Not a valid UUID.": "UUID không hợp lệ.",
    "Not a valid number.": "Phải là một số.",
    "Number too large.": "Số quá lớn.",
    "Not a valid integer.": "Phải là số nguyên.",
    "Special numeric values (nan or infinity) are not permitted.": "Không chấp nhận NaN hay vô cực.",
    "Not a valid boolean.": "Phải là true hoặc false.",
    "Not a valid datetime.": "Thời điểm không hợp lệ (ISO 8601).",
    "Not a valid aware datetime.": "Thời điểm phải có múi giờ, ví dụ 2026-11-30T10:00:00+07:00.",
    "Not a valid naive datetime.": "Thời điểm không được có múi giờ.",
    "Not a valid date.": "Ngày không hợp lệ (YYYY-MM-DD).",
    "Not a valid time.": "Giờ không hợp lệ.",
    "Not a valid period of time.": "Khoảng thời gian không hợp lệ.",
    "Not a valid mapping type.": "Phải là một đối tượng JSON.",
    "Not a valid URL.": "URL không hợp lệ.",
    "Not a valid email address.": "Địa chỉ email không hợp lệ.",
    "Not a valid IP address.": "Địa chỉ IP không hợp lệ.",
    "Not a valid IPv4 address.": "Địa chỉ IPv4 không hợp lệ.",
    "Not a valid IPv6 address.": "Địa chỉ IPv6 không hợp lệ.",
    "Not a valid file.": "Phải là một tệp.",
    "Must be one of: {choices}.": "Phải là một trong: {choices}.",
    "Must be greater than or equal to {min} and less than or equal to {max}.": "Phải từ {min} đến {max}.",
    "Must be greater than {min} and less than {max}.": "Phải lớn hơn {min} và nhỏ hơn {max}.",
    "Must be greater than or equal to {min} and less than {max}.": "Phải từ {min} và nhỏ hơn {max}.",
    "Must be greater than {min} and less than or equal to {max}.": "Phải lớn hơn {min} và không quá {max}.",
    "Must be greater than or equal to {min}.": "Phải lớn hơn hoặc bằng {min}.",
    "Must be greater than {min}.": "Phải lớn hơn {min}.",
    "Must be less than or equal to {max}.": "Phải nhỏ hơn hoặc bằng {max}.",
    "Must be less than {max}.": "Phải nhỏ hơn {max}.",
    "Length must be between {min} and {max}.": "Độ dài phải từ {min} đến {max}.",
    "Length must be {equal}.": "Độ dài phải bằng {equal}.",
    "Longer than maximum length {max}.": "Dài quá mức tối đa {max}.",
    "Shorter than minimum length {min}.": "Ngắn hơn mức tối thiểu {min}.",
    "Must be equal to {other}.": "Phải bằng {other}.",
    "String does not match expected pattern.": "Không đúng định dạng.",
    "One or more of the choices you made was not in: {choices}.": "Có lựa chọn không thuộc: {choices}.",
    "One or more of the choices you made was in: {values}.": "Có lựa chọn thuộc: {values}.",
    "Invalid JSON body.": "Nội dung JSON không hợp lệ.",
}

# The schemas' own Vietnamese messages (api/schemas) -> English.
SCHEMA_MESSAGES: dict[str, str] = {
    "9 đến 12 chữ số": "9 to 12 digits",
    "số điện thoại không hợp lệ": "not a valid phone number",
    "không hợp lệ": "not valid",
    "mã tỉnh (2 chữ số) hoặc VN": "a province code (2 digits) or VN",
    "không được có ký tự điều khiển": "must not contain control characters",
    "thời điểm ISO 8601 không hợp lệ": "not a valid ISO 8601 time",
    "thời điểm phải có múi giờ, ví dụ 2026-11-30T10:00:00+07:00":
        "the time needs its offset, e.g. 2026-11-30T10:00:00+07:00",
    "con trỏ trang không hợp lệ: dùng đúng giá trị next_cursor của trang trước":
        "not a valid cursor: send the previous page's next_cursor as it is",
    "ký tự NUL": "NUL character",
    "ngày YYYY-MM-DD hoặc thời điểm ISO 8601": "a date YYYY-MM-DD or an ISO 8601 time",
    "thời điểm phải có múi giờ, ví dụ 2026-12-15T17:00:00+07:00":
        "the time needs its offset, e.g. 2026-12-15T17:00:00+07:00",
    "con trỏ trang của một cách sắp xếp khác: dùng cùng `sort` với trang trước":
        "a cursor of another sort: send the same `sort` as for the previous page",
    "page/per_page (deprecated) hoặc cursor/limit, không dùng cả hai":
        "page/per_page (deprecated) or cursor/limit, not both",
    "con trỏ trang của một danh sách khác: dùng cùng `view` với trang trước":
        "a cursor of another list: send the same `view` as for the previous page",
    "con trỏ trang không phải của lịch sử hồ sơ":
        "a cursor that is not one of this dossier history's pages",
}

# The edge's own messages (api/errors.py, api/auth.py's bearer) -> English.
EDGE_MESSAGES: dict[str, str] = {
    "Dữ liệu gửi lên không hợp lệ.": "The data sent is not valid.",
    "Dữ liệu chứa ký tự NUL không hợp lệ.": "The data contains a NUL character.",
    "Nội dung JSON không hợp lệ.": "The JSON body is not valid.",
    "Yêu cầu không hợp lệ.": "Bad request.",
    "Lỗi hệ thống; sự cố đã được ghi lại.": "Internal error; the incident was logged.",
    "Không có đường dẫn này trong API.": "No such path in the API.",
    "Phương thức không được hỗ trợ cho đường dẫn này.": "Method not allowed on this path.",
    "Dữ liệu gửi lên quá lớn.": "The data sent is too large.",
    "Kiểu nội dung không được hỗ trợ.": "Unsupported media type.",
    "Không có quyền.": "Forbidden.",
    "Thiếu thông tin xác thực (Authorization: Bearer ...).": "Missing credentials (Authorization: Bearer ...).",
    "Khóa API không hợp lệ, đã thu hồi hoặc hết hạn.": "The API key is not valid, revoked or expired.",
    "Mã truy cập không hợp lệ hoặc đã hết hạn.": "The access token is not valid or has expired.",
    "Sai tên đăng nhập hoặc mật khẩu.": "Wrong username or password.",
    "Tài khoản đã bị khóa.": "The account is locked.",
}

# Werkzeug's exceptions that keep their default (English) description, by status code (English: EDGE_MESSAGES).
HTTP_MESSAGES: dict[int, str] = {
    400: "Yêu cầu không hợp lệ.", 401: "Thiếu thông tin xác thực (Authorization: Bearer ...).",
    403: "Không có quyền.", 404: "Không có đường dẫn này trong API.",
    405: "Phương thức không được hỗ trợ cho đường dẫn này.", 413: "Dữ liệu gửi lên quá lớn.",
    415: "Kiểu nội dung không được hỗ trợ.", 500: "Lỗi hệ thống; sự cố đã được ghi lại.",
}

PERIODS = {"second": ("giây", "second"), "minute": ("phút", "minute"), "hour": ("giờ", "hour"),
           "day": ("ngày", "day"), "month": ("tháng", "month"), "year": ("năm", "year")}


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)  # text, name, text, name, ..., text
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)) + r"\Z")


_FIELD_PATTERNS = [(_pattern(en), vi) for en, vi in FIELD_MESSAGES.items()]


def language() -> str:
    """'en' when the request's Accept-Language prefers English to Vietnamese, else 'vi'."""
    return "en" if request.accept_languages.best_match(("vi", "en")) == "en" else "vi"


def field_message(text: str, lang: str) -> str:
    """One per-field message of marshmallow or of a schema, in the request's language."""
    if lang == "en":
        return SCHEMA_MESSAGES.get(text, text)
    for pattern, vi in _FIELD_PATTERNS:
        found = pattern.match(text)
        if found:
            return vi.format(**found.groupdict())
    return text


def in_language(value, lang: str):
    """A service's sentences (`orchestrator.i18n.vi`, alone or in dicts and lists) in `lang`, from
    the English catalogue the back office uses; Vietnamese as they are."""
    if lang == "vi":
        return value
    with force_locale(lang):
        return render(value, gettext)


def edge_message(text: str, lang: str) -> str:
    """A message of the envelope (the edge's own, or a bearer refusal) in the request's language."""
    return EDGE_MESSAGES.get(text, text) if lang == "en" else text


def rate_limited(amount: int, multiples: int, granularity: str, retry_after: float | None, lang: str) -> str:
    """The limiter's 429 message ("60 per 1 minute") as a sentence with the wait."""
    vi, en = PERIODS.get(granularity, (granularity, granularity))
    wait = max(1, int(retry_after)) if retry_after is not None else None  # as Flask-Limiter's Retry-After
    if lang == "en":
        per = f"per {en}" if multiples == 1 else f"per {multiples} {en}s"
        return f"Too many requests: at most {amount} {per}" + (f"; retry in {wait} seconds." if wait else ".")
    per = f"mỗi {vi}" if multiples == 1 else f"mỗi {multiples} {vi}"
    return f"Quá nhiều yêu cầu: tối đa {amount} {per}" + (f"; thử lại sau {wait} giây." if wait else ".")
