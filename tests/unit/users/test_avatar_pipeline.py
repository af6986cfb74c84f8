from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from atlas.users.avatars import SIZE, process_avatar, read_avatar_file, write_avatar_file
from atlas.users.errors import ImageInvalid, ImageTooLarge, ImageUnsupported


def _image(fmt: str, size: tuple[int, int] = (320, 200), **save: object) -> bytes:
    buf = io.BytesIO()
    mode = "P" if fmt == "GIF" else "RGB"
    Image.new(mode, size, 3 if mode == "P" else (10, 120, 200)).save(buf, format=fmt, **save)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_each_format_becomes_a_square_webp(fmt: str) -> None:
    out = process_avatar(_image(fmt))
    img = Image.open(io.BytesIO(out.data))
    assert img.format == "WEBP"
    assert img.size == (SIZE, SIZE)
    assert out.media_type == "image/webp"


def test_animated_gif_keeps_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    img = Image.open(io.BytesIO(process_avatar(buf.getvalue()).data)).convert("RGB")
    r, g, b = img.getpixel((128, 128))  # type: ignore[misc]  # RGB pixel is a 3-tuple
    assert r > 200
    assert b < 50


def test_exif_gps_is_gone() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPS IFD
    raw = _image("JPEG", exif=exif.tobytes())
    assert b"SpyCam" in raw
    out = process_avatar(raw)
    assert b"SpyCam" not in out.data
    assert b"Exif" not in out.data
    img = Image.open(io.BytesIO(out.data))
    assert not img.getexif()
    assert "icc_profile" not in img.info
    assert "xmp" not in img.info


def test_decompression_bomb_is_refused_before_decoding() -> None:
    buf = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buf, format="PNG")
    assert len(buf.getvalue()) < 5 * 1024 * 1024
    with pytest.raises(ImageTooLarge):
        process_avatar(buf.getvalue())


def test_truncated_file() -> None:
    raw = _image("PNG", (500, 500))
    noisy = Image.effect_noise((500, 500), 80).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, format="JPEG")
    for data in (raw[: len(raw) // 2], buf.getvalue()[: len(buf.getvalue()) // 2]):
        with pytest.raises(ImageInvalid):
            process_avatar(data)


def test_not_an_image() -> None:
    with pytest.raises(ImageUnsupported):
        process_avatar(b"%PDF-1.7 definitely not a png")
    with pytest.raises(ImageUnsupported):
        process_avatar(_image("BMP"))  # a real image, but not an accepted format


def test_oversized_and_empty() -> None:
    with pytest.raises(ImageTooLarge):
        process_avatar(b"\x89PNG" + b"\0" * (5 * 1024 * 1024))
    with pytest.raises(ImageInvalid):
        process_avatar(b"")


def test_content_addressed_store(tmp_path: Path) -> None:
    out = process_avatar(_image("PNG"))
    path = write_avatar_file(tmp_path, out.sha256, out.data)
    assert path.name == f"{out.sha256}.webp"
    assert read_avatar_file(tmp_path, out.sha256) == out.data
    path.write_bytes(b"tampered")
    assert read_avatar_file(tmp_path, out.sha256) is None
