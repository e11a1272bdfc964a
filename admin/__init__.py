"""The web back office (designers, administrators, officers). Pages arrive with issues 4 and 5."""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static")


@bp.get("/")
def home():
    return {"message": "Trang quản trị đang được xây dựng; dùng API /api/v1."}
