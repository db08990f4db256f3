"""Uploads are PDFs by content, within the size limit, with the problem named on the field."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from moonvault.core.errors import DomainError
from moonvault.core.uploads import pdf_check

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def upload(content: bytes, name="document.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def refusal(content: bytes, **kwargs) -> str:
    with pytest.raises(DomainError) as caught:
        pdf_check(upload(content), field="file", **kwargs)
    assert [p.field for p in caught.value.problems] == ["file"]
    return caught.value.message


def test_a_real_pdf_is_accepted_and_left_ready_to_store(real_pdf):
    uploaded = upload(real_pdf)
    pdf_check(uploaded, field="file")
    assert uploaded.read() == real_pdf


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"Dear committee, %PDF-1.4 follows\n%%EOF", id="text named .pdf"),
        pytest.param(b"PK\x03\x04word/document.xml", id="word file"),
        pytest.param(PNG, id="image"),
        pytest.param(b"%PDF-x.y\n%%EOF", id="header without a version"),
    ],
)
def test_a_file_that_is_not_a_pdf_is_refused_whatever_its_name(content):
    assert refusal(content) == "only PDF files are accepted"


def test_a_truncated_pdf_is_refused(real_pdf):
    assert "incomplete" in refusal(real_pdf[: len(real_pdf) // 2])


def test_an_empty_file_is_refused():
    assert refusal(b"") == "the file is empty"


def test_the_end_marker_is_found_across_a_chunk_boundary(real_pdf):
    body = real_pdf.replace(b"%%EOF", b"")
    padded = body + b" " * (64 * 1024 - len(body) - 2) + b"%%EOF\n"
    pdf_check(upload(padded), field="file")


def test_a_file_over_the_size_limit_is_refused_with_the_limit_in_mb(real_pdf):
    with override_settings(UPLOAD_MAX_BYTES=1024 * 1024):
        big = real_pdf.replace(b"%%EOF", b" " * (1024 * 1024) + b"%%EOF")
        assert refusal(big) == "the file is larger than 1 MB"
        exactly = real_pdf.ljust(1024 * 1024, b" ")
        pdf_check(upload(exactly), field="file")


def test_a_document_kind_may_tighten_the_limit_but_never_loosen_it(real_pdf):
    with override_settings(UPLOAD_MAX_BYTES=len(real_pdf) + 10):
        pdf_check(upload(real_pdf), field="file", max_bytes=10 * 1024 * 1024)
        assert "larger than" in refusal(real_pdf, max_bytes=len(real_pdf) - 1)
