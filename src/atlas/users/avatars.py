"""The avatar pipeline: untrusted bytes in, a small metadata-free WebP out.

Pillow parses the header lazily, so the pixel count is checked *before* any pixel is decoded: a
decompression bomb (a tiny file claiming a huge canvas) is refused without allocating it. The image
is then decoded (first frame only for animations), turned upright by its EXIF orientation, cropped
to a centred square and re-drawn onto a fresh canvas, so no EXIF, GPS, ICC, XMP or text chunk from
the upload can survive into the stored file. The result is addressed by its SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from atlas.users.errors import ImageInvalid, ImageTooLarge, ImageUnsupported

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # ~ 6300 × 6300; far above any real photo's need for a 256 px avatar
MAX_SIDE = 16_384
SIZE = 256
MEDIA_TYPE = "image/webp"
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF"})


@dataclass(frozen=True)
class ProcessedAvatar:
    sha256: str
    data: bytes
    media_type: str = MEDIA_TYPE


def process_avatar(raw: bytes) -> ProcessedAvatar:
    """Validate and re-encode an upload; raises an error with a stable code for every bad file."""
    if len(raw) > MAX_BYTES:
        raise ImageTooLarge(f"An avatar file has at most {MAX_BYTES // (1024 * 1024)} MiB.")
    if not raw:
        raise ImageInvalid("The file is empty.")
    with warnings.catch_warnings():
        # Pillow warns (and past 2× its own limit raises) on huge canvases; our explicit check
        # below is stricter, so the warning is noise here.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(raw), formats=list(ALLOWED_FORMATS))
        except UnidentifiedImageError as exc:
            raise ImageUnsupported("Send a PNG, JPEG, WebP or GIF image.") from exc
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge("The image's dimensions are too large.") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageInvalid("The image cannot be read.") from exc
        with img:
            if img.format not in ALLOWED_FORMATS:
                raise ImageUnsupported("Send a PNG, JPEG, WebP or GIF image.")
            width, height = img.size
            if width < 1 or height < 1:
                raise ImageInvalid("The image has no pixels.")
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise ImageTooLarge(f"The image is {width}×{height}; at most {MAX_PIXELS} pixels are accepted.")
            try:
                img.seek(0)
                img.load()
                frame = ImageOps.exif_transpose(img) or img
                rgba = frame.convert("RGBA")
            except Image.DecompressionBombError as exc:
                raise ImageTooLarge("The image's dimensions are too large.") from exc
            except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
                raise ImageInvalid("The image is truncated or corrupt.") from exc
    square = ImageOps.fit(rgba, (SIZE, SIZE), method=Image.Resampling.LANCZOS)
    clean = Image.new("RGBA", (SIZE, SIZE))
    clean.paste(square, (0, 0))
    out = io.BytesIO()
    clean.save(out, format="WEBP", quality=85, method=4)
    data = out.getvalue()
    return ProcessedAvatar(hashlib.sha256(data).hexdigest(), data)


def avatar_path(data_dir: Path, sha256: str) -> Path:
    return data_dir / "avatars" / sha256[:2] / f"{sha256}.webp"


def write_avatar_file(data_dir: Path, sha256: str, data: bytes) -> Path:
    """Store atomically under its content address (a second writer of the same bytes is harmless)."""
    path = avatar_path(data_dir, sha256)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_avatar_file(data_dir: Path, sha256: str) -> bytes | None:
    try:
        data = avatar_path(data_dir, sha256).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None
