"""IMAGES, one image: bytes in, checked by decoding them whole, card-sized WebP out.

Whatever arrives (from a publisher, or from a cache folder that may have come with the
site) is treated as hostile: its header is read first and a picture declaring more than
MAX_PIXELS is refused before a pixel is decoded (a small file can declare a huge one);
then it is decoded whole, so a truncated file or an HTML page served as image/jpeg is
refused. Nothing is ever run: the bytes are only ever given to Pillow's decoders.

The renditions are deterministic: the same input gives the same bytes (fixed quality and
method, no metadata copied), so a rebuild from the cache writes the very same files.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

WIDTHS = (400, 800)  # rendition widths: a card is at most 400 CSS pixels wide, 800 for 2x screens
QUALITY = 75
METHOD = 4  # libwebp's speed/size trade-off (0 fast .. 6 small)
MAX_PIXELS = 40_000_000  # a 8000 x 5000 photo; more is no card image (and a decompression bomb's trick)
MAX_RATIO = 6  # a picture taller than six widths (or wider than six heights) is no card image
FORMATS = frozenset(("JPEG", "PNG", "WEBP", "GIF"))


class ImageRefused(Exception):
    """Bytes that are not an image we will use; the message says why, in a user's words."""


@dataclass(frozen=True, slots=True)
class Rendition:
    width: int
    height: int
    data: bytes


def renditions(data: bytes) -> list[Rendition]:
    """WebP renditions WIDTHS wide (never wider than the original: a 600 px picture gives
    400 and 600), narrowest first. Raises ImageRefused."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:  # lazy: only the header is read here
                _check_header(image)
                image.load()  # the whole picture decoded: a broken or fake file fails here
                return _encode(_upright(image))
        except ImageRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRefused(f"it declares more than {MAX_PIXELS:,} pixels; refused unread") from None
        except UnidentifiedImageError:
            raise ImageRefused("it is not an image (JPEG, PNG, WebP or GIF)") from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise ImageRefused(f"it could not be decoded ({type(exc).__name__}): a broken or cut-short image") from None


def _check_header(image: Image.Image) -> None:
    if image.format not in FORMATS:
        raise ImageRefused(f"it is {image.format or 'an unknown'} format, not JPEG, PNG, WebP or GIF")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRefused(f"it declares {width} x {height} pixels, more than {MAX_PIXELS:,}; refused unread")
    if width < 1 or height < 1 or max(width, height) > MAX_RATIO * min(width, height):
        raise ImageRefused(f"it is {width} x {height} pixels, too narrow or too tall for a card")


def _upright(image: Image.Image) -> Image.Image:
    """Turned as a camera's EXIF orientation says, in RGB (RGBA if it has transparency)."""
    image = ImageOps.exif_transpose(image)
    alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    return image.convert("RGBA" if alpha else "RGB")


def _encode(image: Image.Image) -> list[Rendition]:
    width, height = image.size
    out = []
    for target in sorted({min(w, width) for w in WIDTHS}):
        tall = max(1, round(height * target / width))
        resized = image if target == width else image.resize((target, tall), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        # No exif or icc_profile is passed, so none is written: nothing of the original's metadata.
        resized.save(buffer, "WEBP", quality=QUALITY, method=METHOD)
        out.append(Rendition(target, tall, buffer.getvalue()))
    return out
