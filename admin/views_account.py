"""Sessions and API tokens: every user's own (the account page, linked from the header) and,
for administrators, a managed user's (the user page); on the account page also the daily email
digest of one's notifications (services/officer_digest.py). Thin views over services/auth.py, which
asks services/access.py who may see and revoke them."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from orchestrator.extensions import db
from orchestrator.models import User
from orchestrator.services import officer_digest
from orchestrator.services import tokens as tokens_service

from .blueprint import bp
from .views_auth import current_actor, role_required


@bp.get("/account")
@login_required
def account():
    actor = current_actor()
    tokens = tokens_service.list_tokens(db.session, actor)
    return render_template("admin/account.html", tokens=tokens, me=db.session.get(User, actor.user_id))


@bp.post("/account/digest")
@login_required
def account_digest():
    """The daily email digest of one's notifications (issue 24): on with an address, or off."""
    officer_digest.set_preferences(db.session, current_actor(), enabled=request.form.get("digest_enabled") == "1",
                                   email=request.form.get("digest_email", ""))
    db.session.commit()
    flash(_("Đã lưu lựa chọn nhận bản tổng hợp thông báo qua email."), "ok")
    return redirect(url_for("admin.account"), 303)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def account_token_revoke(token_id: int):
    actor = current_actor()
    tokens_service.revoke_token(db.session, actor, token_id, user_id=actor.user_id)
    db.session.commit()
    flash(_("Đã thu hồi mã truy cập."), "ok")
    return redirect(url_for("admin.account"), 303)


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
@role_required("admin")
def user_token_revoke(user_id: int, token_id: int):
    tokens_service.revoke_token(db.session, current_actor(), token_id, user_id=user_id)
    db.session.commit()
    flash(_("Đã thu hồi mã truy cập."), "ok")
    return redirect(url_for("admin.user", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/logout-everywhere")
@role_required("admin")
def user_logout_everywhere(user_id: int):
    """Every session and token of the user ends (the administrator's own too, if it is them)."""
    tokens_service.revoke_all(db.session, current_actor(), user_id)
    db.session.commit()
    flash(_("Đã đăng xuất tài khoản khỏi mọi nơi."), "ok")
    return redirect(url_for("admin.user", user_id=user_id), 303)
