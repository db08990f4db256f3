"""A decided round and a loan agreement (from the loan pages' fixtures), and real PDF bytes."""

import io

import pytest
from reportlab.pdfgen import canvas

from tests.web_loans.conftest import decided, loan

__all__ = ["decided", "loan"]


@pytest.fixture(scope="session")
def real_pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Signed: A. Official")
    page.save()
    return out.getvalue()
