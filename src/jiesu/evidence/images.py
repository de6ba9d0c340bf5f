"""Photos re-encoded from their pixels alone: what leaves this module carries no EXIF (so no
GPS position, camera serial or time), no XMP, no ICC profile and no comment, whatever the
original held. Decoding is where malicious images strike, so it is bounded: the pixel count is
checked from the header before a single pixel is decoded (decompression bombs), and a file
that does not decode completely (truncated, corrupt) is refused rather than half-kept."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps

from jiesu.errors import BadInput
from jiesu.evidence.sniff import JPEG, PNG, FileType

THUMB_EDGE = 320
JPEG_QUALITY = 85
# Never decode what the file does not hold: a truncated image is refused, not padded grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    file_type: FileType
    width: int
    height: int
    thumbnail: bytes
    # What the original carried and the stored copy does not (for the audit record).
    removed: tuple[str, ...]


def _found_metadata(img: Image.Image) -> list[str]:
    removed = []
    exif = img.getexif()
    if exif:
        removed.append("exif")
        if exif.get_ifd(0x8825):  # the GPS IFD
            removed.append("gps")
    info = img.info
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        removed.append("xmp")
    if "icc_profile" in info:
        removed.append("icc")
    if "comment" in info:
        removed.append("comment")
    if getattr(img, "text", None):  # PNG text chunks (tEXt, iTXt, zTXt)
        removed.append("text")
    return removed


def clean_image(data: bytes, *, max_pixels: int) -> CleanImage:
    """Decode ``data`` (already sniffed as an image) and encode its pixels afresh."""
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check only warns below twice its limit: make it refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise BadInput(
                    "file",
                    f"is an image of {width}×{height} pixels ({width * height:,}); the most "
                    f"accepted is {max_pixels:,} pixels (a larger one could exhaust the server)",
                )
            removed = _found_metadata(img)
            img.load()
            # The camera's orientation is applied to the pixels before EXIF goes.
            img = ImageOps.exif_transpose(img)
    except BadInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInput("file", f"is refused as a decompression bomb: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput(
            "file", f"is a damaged or truncated image and cannot be read completely ({exc})"
        ) from exc
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    # A fresh image from the pixels: nothing of the original's info dict comes along.
    pixels = img.convert("RGBA" if has_alpha else "RGB")
    pixels.info = {}
    target = PNG if has_alpha else JPEG
    out = _encode(pixels, target)
    thumb = pixels.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE))
    thumb.info = {}
    return CleanImage(
        data=out,
        file_type=target,
        width=pixels.width,
        height=pixels.height,
        thumbnail=_encode(thumb, target),
        removed=tuple(removed),
    )


def _encode(img: Image.Image, target: FileType) -> bytes:
    buf = io.BytesIO()
    if target is JPEG:
        img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        img.save(buf, "PNG", optimize=True)
    return buf.getvalue()
