"""Logging in and out; who the current user is, as the services' Actor."""
from __future__ import annotations

import re
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from orchestrator.extensions import db, limiter
from orchestrator.models import User
from orchestrator.services import access, audit, notifications
from orchestrator.services.auth import Actor, actor_for_user, check_password, revoke_credentials
from orchestrator.services.errors import Forbidden, TooManyAttempts, Unauthenticated

from .blueprint import bp
from .setup import login_manager


class SessionUser(UserMixin):
    """What Flask-Login keeps per session: "<user id>:<credential generation>"; roles are re-read
    on every request so a removed role takes effect at once, and the generation is checked on
    every request so a password reset, a deactivation, a role removed or a logout (which bumps
    it, services.auth.revoke_credentials) ends every session of the user, copies of the cookie
    included."""

    def __init__(self, user: User):
        self.user_id = user.id
        self.id = f"{user.id}:{user.credential_generation or 0}"
        self.username = user.username
        self.full_name = user.full_name


@login_manager.user_loader
def _load_user(session_id: str):
    """The session's user if the account is active and the session of its current generation;
    otherwise none, and the visitor is sent to the login page (an old-format id included)."""
    user_id, sep, generation = (session_id or "").partition(":")
    if not sep:
        return None
    try:
        user = db.session.get(User, int(user_id))
        generation_number = int(generation)
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or (user.credential_generation or 0) != generation_number:
        return None
    return SessionUser(user)


def current_actor_or_none() -> Actor | None:
    if "actor" not in g:
        g.actor = None
        if current_user.is_authenticated:
            user = db.session.get(User, current_user.user_id)
            g.actor = actor_for_user(db.session, user) if user is not None else None
    return g.actor


def current_actor() -> Actor:
    actor = current_actor_or_none()
    if actor is None:
        raise Forbidden(_("Cần đăng nhập."))
    return actor


@bp.app_context_processor
def _who():
    """Who is logged in and what they may do, for every back-office page (menus, buttons)."""
    if not request.blueprint == "admin":
        return {}
    actor = current_actor_or_none()
    return {
        "actor": actor,
        "is_designer": bool(actor and access.holds_any(actor, ("designer",))),
        "is_admin": bool(actor and access.holds_any(actor, ("admin",))),
        "is_supervisor": bool(actor and access.holds_any(actor, access.STATISTICS_ROLES)),
        "is_officer": bool(actor and access.holds_any(actor, access.WORKSPACE_ROLES)),
        # the bell in every header: one COUNT over ix_notification_unread per page
        "unread_notifications": notifications.unread_count(db.session, actor) if actor else 0,
        # the header names the person (their row is already in the session: no query)
        "actor_full_name": (db.session.get(User, actor.user_id).full_name if actor and actor.user_id else None),
    }


def role_required(*roles: str):
    """Logged in and holding one of these roles somewhere; otherwise a clear 403 page."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if not access.holds_any(actor, roles):
                raise Forbidden(_("Tài khoản của bạn không có vai trò cần cho trang này."))
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.get("/")
def home():
    actor = current_actor_or_none()
    if actor is None:
        return redirect(url_for("admin.login"))
    if access.holds_any(actor, access.OFFICER_ROLES):
        return redirect(url_for("admin.inbox"))
    if access.holds_any(actor, ("supervisor",)):
        return redirect(url_for("admin.statistics_page"))
    if access.holds_any(actor, ("designer",)):
        return redirect(url_for("admin.catalogue"))
    return redirect(url_for("admin.users"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_TOKEN"], methods=["POST"])  # as POST /api/v1/auth/token
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        status, headers = 401, {}
        try:  # the API's token route checks passwords (and counts failures) with the same function
            user = check_password(db.session, username, password, request.remote_addr)
        except Unauthenticated:
            db.session.commit()  # keep the failure's count (services/throttle.py)
            user, error = None, _("Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đã bị khóa.")
        except TooManyAttempts as exc:
            user, error, status = None, exc.message, 429
            headers = {"Retry-After": str(exc.retry_after)}
        if user is not None:
            actor = actor_for_user(db.session, user)
            if not access.may_use_back_office(actor):
                error = _("Tài khoản này không có vai trò nào dùng được trang quản trị.")
            else:
                login_user(SessionUser(user))
                audit.record(db.session, "admin.login", user.username)
                db.session.commit()
                return redirect(safe_next(request.args.get("next", "")) or url_for("admin.home"))
        return render_template("admin/login.html", error=error, username=username), status, headers
    return render_template("admin/login.html", error=None, username="")


def safe_next(target: str) -> str | None:
    """A back-office path to return to after login, or None: only `/admin...` paths of printable
    ASCII without a host, scheme, backslash or control character (CR/LF, NUL) are followed."""
    if (not isinstance(target, str) or len(target) > 2000 or not re.fullmatch(r"/admin([/?][\x21-\x7e]*)?", target)
            or "\\" in target or target.startswith("//")):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and parts.path.startswith("/admin") else None


@bp.post("/logout")
@login_required
def logout():
    """Logging out ends every session and API token of the user, on every device (a copied
    cookie or a leaked token stops working too): services.auth.revoke_credentials."""
    user = db.session.get(User, current_user.user_id)
    if user is not None:
        revoke_credentials(db.session, user)
    audit.record(db.session, "admin.logout", current_user.username)
    db.session.commit()
    logout_user()
    return redirect(url_for("admin.login"))
