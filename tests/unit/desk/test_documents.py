from __future__ import annotations

from pathlib import Path

import pytest

from quoteflow.desk import documents as D
from tests.unit.desk.conftest import PDF

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 20


@pytest.mark.parametrize(("data", "kind"), [
    (PDF, "PDF"), (PNG, "PNG"), (JPEG, "JPEG"), ("Déclaration".encode(), "plain text"),
    (b"<!DOCTYPE html><script>alert(1)</script>", "HTML"), (b"  <html>", "HTML"),
    (b"\x00\x01\x02", "binary data"), (b"\xff\xfe\xfa", "binary data"),
])
def test_type_comes_from_content(data: bytes, kind: str) -> None:
    assert D.sniff(data) == kind


def test_html_renamed_pdf_is_refused_by_name_and_reason() -> None:
    with pytest.raises(D.DocumentRefused, match=r"invoice\.pdf is HTML, not a PDF"):
        D.check("invoice.pdf", b"<html><body>pay here</body></html>", 1000)


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "a/b.pdf", "..\\x.pdf", ".hidden.pdf",
                                  "x\x00.pdf", "", "a" * 201 + ".pdf"])
def test_names_that_could_be_paths_are_refused(name: str) -> None:
    with pytest.raises(D.DocumentRefused, match="not a plain file name"):
        D.check(name, PDF, 1000)


def test_empty_too_large_and_wrong_extension() -> None:
    with pytest.raises(D.DocumentRefused, match=r"x\.pdf is empty"):
        D.check("x.pdf", b"", 1000)
    with pytest.raises(D.DocumentRefused, match="larger than the 1 MiB limit"):
        D.check("x.pdf", PDF + b"0" * 1024 * 1024, 1024 * 1024)
    with pytest.raises(D.DocumentRefused, match="a PDF file but its name says otherwise"):
        D.check("photo.png", PDF, 1000)
    assert D.check("Photo.JPG", JPEG, 1000).content_type == "image/jpeg"


def test_folder_is_content_addressed_and_checked(tmp_path: Path) -> None:
    folder = D.DocumentFolder(tmp_path)
    doc = D.check("a.pdf", PDF, 1000)
    sha = folder.put(doc)
    assert folder.put(D.check("b.pdf", PDF, 1000)) == sha  # same bytes, stored once
    assert folder.count() == 1 and folder.read(sha) == PDF
    assert folder.path(sha) == tmp_path / sha[:2] / sha
    folder.path(sha).write_bytes(b"tampered")
    with pytest.raises(RuntimeError, match="corrupt"):
        folder.read(sha)
    with pytest.raises(ValueError, match="not a sha256"):
        folder.path("../../x")
