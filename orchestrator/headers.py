"""Security headers on every answer: pages run only the scripts served from this site and
cannot be framed; nothing is sniffed into another type; over HTTPS, a Secure cookie and HSTS."""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

# bpmn-js sets inline styles and its stylesheet draws with data: images; no page has inline script.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")
# JSON, files, static assets: nothing to run, load or frame.
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
# Pages whose template is a library's (flask-smorest's Swagger UI): their inline script is allowed by hash.
LIBRARY_PAGES = {"api-docs.openapi_swagger_ui"}
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
HSTS = "max-age=31536000"


def _script_hashes(response: Response) -> str:
    return "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                   for s in INLINE_SCRIPT.findall(response.get_data(as_text=True)))


def init_app(app: Flask) -> None:
    https = bool(app.config.get("HTTPS"))
    if https:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        if response.mimetype == "text/html":
            csp = PAGE_CSP
            if request.endpoint in LIBRARY_PAGES:
                csp = csp.replace("script-src 'self'", "script-src 'self'" + _script_hashes(response))
            headers.setdefault("Content-Security-Policy", csp)
        # not on PDFs: Chrome's viewer draws one in a page that the CSP would govern (crbug 271452)
        elif response.mimetype != "application/pdf":
            headers.setdefault("Content-Security-Policy", OTHER_CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
