"""Uploaded documents: PDF only, judged by content, and no larger than settings.UPLOAD_MAX_BYTES.

A name or a browser's content type says nothing about what a file is; its structure does. The
check is deliberately light (no full parse of an untrusted file on the request path): a PDF
starts with a `%PDF-<major>.<minor>` header and has an end-of-file marker `%%EOF`. Each problem
names the form field, so that it shows next to the file input.
"""

import re

from django.conf import settings
from django.utils.translation import gettext as _

from moonvault.core.errors import DomainError

PDF_HEADER = re.compile(rb"%PDF-\d\.\d")
PDF_END = b"%%EOF"


def pdf_check(uploaded, *, field: str, max_bytes: int | None = None) -> None:
    """`max_bytes` tightens the site-wide limit for one kind of document."""
    limit = min(settings.UPLOAD_MAX_BYTES, max_bytes or settings.UPLOAD_MAX_BYTES)
    if uploaded.size > limit:
        raise DomainError(
            _("the file is larger than %(limit)s MB") % {"limit": limit // (1024 * 1024)},
            field=field,
        )
    if uploaded.size == 0:
        raise DomainError(_("the file is empty"), field=field)
    uploaded.seek(0)
    if not PDF_HEADER.match(uploaded.read(8)):
        uploaded.seek(0)
        raise DomainError(_("only PDF files are accepted"), field=field)
    if not _has_end_marker(uploaded):
        raise DomainError(_("the PDF is incomplete (no end-of-file marker)"), field=field)


def _has_end_marker(uploaded) -> bool:
    uploaded.seek(0)
    tail = b""
    try:
        for chunk in uploaded.chunks(64 * 1024):
            # Keep the last bytes of the previous chunk: the marker may straddle two chunks.
            if PDF_END in tail + chunk:
                return True
            tail = chunk[-len(PDF_END) :]
        return False
    finally:
        uploaded.seek(0)
