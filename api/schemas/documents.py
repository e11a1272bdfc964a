"""Printable documents and attachments of a dossier."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from .common import VNDateTime


class AttachmentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    uploaded_at = VNDateTime()


class AttachmentListSchema(Schema):
    items = fields.List(fields.Nested(AttachmentSchema))


class AttachmentFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(load_default="applicant", validate=validate.OneOf(["applicant", "result"]))


class AttachmentFileSchema(Schema):
    file = Upload(required=True)


class DocumentQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    format = fields.String(load_default="html", validate=validate.OneOf(["html", "pdf"]))


class DocumentListSchema(Schema):
    items = fields.List(fields.Dict())
