"""Printable documents (Circular 03/2025 forms, HTML or PDF) and attachments of a dossier."""
from __future__ import annotations

from flask import Response, current_app, url_for

from orchestrator.extensions import db, limiter
from orchestrator.services import attachments, documents
from orchestrator.services import dossiers as dossier_service

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .limits import caller_key, not_an_integrator, upload_limit
from .schemas.documents import (
    AttachmentFileSchema, AttachmentFormSchema, AttachmentListSchema, AttachmentSchema, DocumentListSchema,
    DocumentQuerySchema,
)


@bp.get("/dossiers/<code>/documents")
@authenticated
@bp.response(200, DocumentListSchema)
@documented(401, 404)
def list_documents(code: str):
    """The printable documents this dossier has (receipt, supplement, refusal, apology, stop, control)."""
    dossier = dossier_service.get_visible(db.session, current_actor(), code)
    return {"items": [{"kind": k, "title": documents.TITLES[k]} for k in documents.available(dossier)]}


@bp.get("/dossiers/<code>/documents/<kind>")
@authenticated
@bp.arguments(DocumentQuerySchema, location="query")
@bp.response(200)
@documented(400, 401, 404)
def get_document(args, code: str, kind: str):
    """One document as HTML (`format=html`) or PDF (`format=pdf`)."""
    dossier = dossier_service.get_visible(db.session, current_actor(), code)
    body, mimetype, headers = documents.rendered(db.session, dossier, kind, args["format"],
                                                 current_app.config["DOCUMENT_FONT_DIR"])
    return Response(body, mimetype=mimetype, headers=headers)


@bp.get("/dossiers/<code>/attachments")
@authenticated
@bp.response(200, AttachmentListSchema)
@documented(401, 404)
def list_attachments(code: str):
    """Applicant's and result documents of a dossier."""
    dossier = dossier_service.get_visible(db.session, current_actor(), code)
    return {"items": attachments.list_for(db.session, dossier)}


@bp.post("/dossiers/<code>/attachments")
@limiter.limit(upload_limit, key_func=caller_key, exempt_when=not_an_integrator)  # checked with the caller's limit
@authenticated
@bp.arguments(AttachmentFormSchema, location="form")
@bp.arguments(AttachmentFileSchema, location="files")
@bp.response(201, AttachmentSchema)
@documented(400, 401, 403, 404, 409, 413)
def upload_attachment(form, files, code: str):
    """Upload a PDF, PNG or JPEG (type checked on content; size limited by ATTACHMENT_MAX_BYTES).

    A key adds the applicant's documents only to dossiers its integrator submitted (403
    `not_your_dossier`), at most RATELIMIT_UPLOADS files per key (429); a dossier holds at most
    ATTACHMENTS_PER_DOSSIER files and ATTACHMENT_BYTES_PER_DOSSIER bytes (409 `attachment_quota`)."""
    file = files["file"]
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    row = attachments.upload_to(db.session, current_actor(), code, form["kind"], file.filename or "",
                                file.stream.read(limit + 1),
                                attachments.storage_from_config(current_app.config, db.session), limit)
    db.session.commit()
    return row, {"Location": url_for("api.download_attachment", attachment_id=row.id)}


@bp.get("/attachments/<int(max=2147483647):attachment_id>")
@authenticated
@bp.response(200)
@documented(401, 404)
def download_attachment(attachment_id: int):
    """The file, for those who may see its dossier."""
    row, data = attachments.fetch(db.session, current_actor(), attachment_id,
                                 attachments.all_storages(current_app.config, db.session))
    return Response(data, mimetype=row.content_type, headers=attachments.download_headers(row))
