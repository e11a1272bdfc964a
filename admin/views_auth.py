"""Logging in and out; who the current user is, as the services' Actor."""
from __future__ import annotations

from functools import wraps

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from orchestrator.extensions import db
from orchestrator.models import User
from orchestrator.services import audit
from orchestrator.services.auth import Actor, actor_for_user
from orchestrator.services.errors import Forbidden

from . import bp
from .setup import login_manager

BACK_OFFICE_ROLES = ("designer", "admin", "reception", "specialist", "leader", "supervisor")
OFFICER_ROLES = ("reception", "specialist", "leader", "supervisor")


class SessionUser(UserMixin):
    """What Flask-Login keeps per session: the user id; roles are re-read on every request so a
    removed role or a deactivation takes effect at once."""

    def __init__(self, user: User):
        self.id = str(user.id)
        self.username = user.username
        self.full_name = user.full_name


@login_manager.user_loader
def _load_user(user_id: str):
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active:
        return None
    return SessionUser(user)


def current_actor_or_none() -> Actor | None:
    if "actor" not in g:
        g.actor = None
        if current_user.is_authenticated:
            user = db.session.get(User, int(current_user.id))
            g.actor = actor_for_user(db.session, user) if user is not None else None
    return g.actor


def current_actor() -> Actor:
    actor = current_actor_or_none()
    if actor is None:
        raise Forbidden(_("Cần đăng nhập."))
    return actor


def role_required(*roles: str):
    """Logged in and holding one of these roles somewhere; otherwise a clear 403 page."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if not any(actor.scopes(r) for r in roles):
                raise Forbidden(_("Tài khoản của bạn không có vai trò cần cho trang này."))
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.get("/")
def home():
    actor = current_actor_or_none()
    if actor is None:
        return redirect(url_for("admin.login"))
    if any(actor.scopes(r) for r in ("reception", "specialist", "leader")):
        return redirect(url_for("admin.inbox"))
    if actor.scopes("supervisor"):
        return redirect(url_for("admin.statistics_page"))
    if actor.scopes("designer"):
        return redirect(url_for("admin.catalogue"))
    return redirect(url_for("admin.users"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = db.session.scalar(select(User).where(User.username == username)) if username else None
        ok = user is not None and check_password_hash(user.password_hash, password)
        if not ok or not user.active:
            error = _("Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đã bị khóa.")
        else:
            actor = actor_for_user(db.session, user)
            if not any(actor.scopes(r) for r in BACK_OFFICE_ROLES):
                error = _("Tài khoản này không có vai trò nào dùng được trang quản trị.")
            else:
                login_user(SessionUser(user))
                audit.record(db.session, "admin.login", user.username)
                db.session.commit()
                target = request.args.get("next", "")
                if not target.startswith("/admin") or target.startswith("//"):
                    target = url_for("admin.home")
                return redirect(target)
        return render_template("admin/login.html", error=error, username=username), 401
    return render_template("admin/login.html", error=None, username="")


@bp.post("/logout")
@login_required
def logout():
    audit.record(db.session, "admin.logout", current_user.username)
    db.session.commit()
    logout_user()
    return redirect(url_for("admin.login"))
