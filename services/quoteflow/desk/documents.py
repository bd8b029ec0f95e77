"""Claim documents: checked by type from their content, kept in a content-addressed folder.

A document's type is sniffed from its first bytes (PDF, JPEG, PNG, plain UTF-8 text),
never taken from its name or the browser's Content-Type, and the name's extension must
agree: an HTML page renamed ``.pdf`` is refused. Files are stored as
``<root>/<sha[:2]>/<sha256>``, written to a temporary file, fsync'd and renamed, so a
half-written file never has a final name and the same bytes are stored once. The name
the agent gave is metadata only: it never becomes a path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

# type -> (content type, extensions its name may have)
TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "PDF": ("application/pdf", (".pdf",)),
    "JPEG": ("image/jpeg", (".jpg", ".jpeg")),
    "PNG": ("image/png", (".png",)),
    "plain text": ("text/plain; charset=utf-8", (".txt", ".text")),
}
_MAGIC = ((b"%PDF-", "PDF"), (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))
# what browsers treat as HTML when they sniff (WHATWG MIME sniffing, "HTML" patterns)
_HTML = re.compile(rb"^\s*<(!doctype html|html|head|body|script|iframe|svg|\?xml|"
                   rb"!--|a |img|div|table|style|title|p[ >]|br|h1)", re.IGNORECASE)
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|^\.|\.\.")
MAX_NAME = 200


class DocumentRefused(ValueError):
    """A document that is not kept; the message says which one and why."""


@dataclass(frozen=True)
class CheckedDocument:
    filename: str
    kind: str  # a TYPES key
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str:
    """The document's type from its content, or a description of what it is instead."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if _HTML.match(data[:1024]):
        return "HTML"
    if b"\x00" in data:
        return "binary data"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data"
    return "plain text"


def check_name(filename: str) -> str:
    if not filename or len(filename) > MAX_NAME or _BAD_NAME.search(filename):
        raise DocumentRefused(
            f"{filename[:80]!r} is not a plain file name (no folders, '..', leading dot or "
            f"control characters; at most {MAX_NAME} characters)")
    return filename


def check(filename: str, data: bytes, max_bytes: int) -> CheckedDocument:
    """The document if it is kept; DocumentRefused naming the file and the reason."""
    name = check_name(filename)
    if not data:
        raise DocumentRefused(f"{name} is empty")
    if len(data) > max_bytes:
        raise DocumentRefused(f"{name} is larger than the {human(max_bytes)} limit per "
                              "document")
    kind = sniff(data)
    if kind not in TYPES:
        raise DocumentRefused(f"{name} is {kind}, not a PDF, JPEG, PNG or plain text file")
    content_type, extensions = TYPES[kind]
    if not name.lower().endswith(extensions):
        raise DocumentRefused(f"{name} is a {kind} file but its name says otherwise: "
                              f"name it {' or '.join(extensions)}")
    return CheckedDocument(name, kind, content_type, data)


def human(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


class DocumentFolder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, doc: CheckedDocument) -> str:
        """Store the bytes durably (once per content); their sha256."""
        sha = doc.sha256
        final = self.path(sha)
        if final.exists():
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(doc.data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def read(self, sha256: str) -> bytes:
        data = self.path(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise RuntimeError(f"document {sha256} is corrupt on disk")
        return data

    def count(self) -> int:
        return sum(1 for p in self.root.rglob("*") if p.is_file()) if self.root.exists() else 0
