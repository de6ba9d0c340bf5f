"""Photos made for the tests: a JPEG carrying a GPS position, XMP, an ICC profile and a
comment — everything the evidence module must strip — and broken or hostile files."""

from __future__ import annotations

import io

from PIL import Image, ImageCms

GPS_IFD = 0x8825
# 39°54'27" N, 116°23'17" E: Tiananmen, as a phone would write it.
GPS = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description exif:GPSLatitude="39,54.45N" xmlns:exif="http://ns.'
    b'adobe.com/exif/1.0/"/></rdf:RDF></x:xmpmeta>'
)


def photo_with_gps(size: tuple[int, int] = (640, 480)) -> bytes:
    img = Image.new("RGB", size, (200, 40, 40))
    for x in range(0, size[0], 16):  # some structure, so the re-encode has pixels to keep
        for y in range(size[1]):
            img.putpixel((x, y), (20, 20, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif.get_ifd(GPS_IFD).update(GPS)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), icc_profile=icc, xmp=XMP, comment=b"secret note")
    return buf.getvalue()


def has_gps(data: bytes) -> bool:
    img = Image.open(io.BytesIO(data))
    return bool(img.getexif().get_ifd(GPS_IFD))


def metadata_left(data: bytes) -> list[str]:
    """Metadata a served file still carries (should be none)."""
    img = Image.open(io.BytesIO(data))
    left = []
    if img.getexif():
        left.append("exif")
    if has_gps(data):
        left.append("gps")
    for key in ("xmp", "icc_profile", "comment", "exif"):
        if key in img.info:
            left.append(key)
    if b"Exif\x00\x00" in data or b"adobe:ns:meta" in data or b"secret note" in data:
        left.append("raw bytes")
    return left


def png(size: tuple[int, int] = (32, 32), alpha: bool = False) -> bytes:
    img = Image.new("RGBA" if alpha else "RGB", size, (0, 128, 0, 128) if alpha else (0, 128, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def bomb_png(edge: int = 20_000) -> bytes:
    """A tiny file that claims edge × edge pixels (400 megapixels): a decompression bomb."""
    img = Image.new("1", (edge, edge), 0)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def truncated_jpeg() -> bytes:
    data = photo_with_gps()
    return data[: len(data) // 2]


SCRIPT_AS_JPG = b"#!/bin/sh\nrm -rf / --no-preserve-root\n"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
