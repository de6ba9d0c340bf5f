"""What a file is, from its first bytes: its name and the type the sender declared are claims,
the content is the fact. A script named ``.jpg`` starts like a script, not like a JPEG."""

from __future__ import annotations

from dataclasses import dataclass

from jiesu.errors import BadInput


@dataclass(frozen=True)
class FileType:
    kind: str  # image | document
    media_type: str
    ext: str


JPEG = FileType("image", "image/jpeg", "jpg")
PNG = FileType("image", "image/png", "png")
GIF = FileType("image", "image/gif", "gif")
WEBP = FileType("image", "image/webp", "webp")
PDF = FileType("document", "application/pdf", "pdf")
ACCEPTED = "JPEG, PNG, GIF or WebP photos and PDF documents"

# What some refused files look like, to say what the file really is.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"#!", "a script"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"PK\x03\x04", "a ZIP archive (or an Office file)"),
    (b"<?php", "a PHP script"),
    (b"<svg", "an SVG drawing (it can carry scripts)"),
    (b"<?xml", "an XML file"),
    (b"<html", "a web page"),
    (b"<!doctype", "a web page"),
    (b"<script", "a script"),
)


def sniff(head: bytes) -> FileType:
    """The accepted type ``head`` starts with, or a refusal naming what it looks like."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if not head:
        raise BadInput("file", "is empty")
    lowered = head.lstrip().lower()
    for magic, what in _KNOWN_OTHERS:
        if lowered.startswith(magic.lower()):
            raise BadInput("file", f"is {what}, whatever its name says; accepted: {ACCEPTED}")
    raise BadInput(
        "file", f"is not a file type accepted here (by its content); accepted: {ACCEPTED}"
    )
