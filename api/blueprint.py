"""The API's flask-smorest blueprint, in a module of its own: every route module decorates it
and none imports the package, so the package's `__init__` can import them all without a loop."""
from flask_smorest import Blueprint

bp = Blueprint("api", __name__, description="Hồ sơ thủ tục hành chính: API cho hệ thống tích hợp")
