"""The one time zone. Times are stored in UTC (`models.types.utcnow`); people, the law (due dates,
office hours) and the API (ISO 8601 with +07:00) read them in Vietnam's."""
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
