"""Avatar upload with real image files, storage without metadata, and conditional GETs."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from atlas.client.auth import sign_in
from atlas.config import Settings


def _image(fmt: str, size: tuple[int, int] = (400, 300), **save: object) -> bytes:
    buf = io.BytesIO()
    mode = "P" if fmt == "GIF" else "RGB"
    Image.new(mode, size, 5 if mode == "P" else (200, 80, 20)).save(buf, format=fmt, **save)
    return buf.getvalue()


async def _put(client: httpx.AsyncClient, headers: dict[str, str], data: bytes, name: str, ctype: str) -> httpx.Response:
    return await client.put("/v1/users/me/avatar", files={"file": (name, data, ctype)}, headers=headers)


@pytest.mark.parametrize(
    ("fmt", "ctype"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")]
)
async def test_each_format_is_stored_and_served(client: httpx.AsyncClient, fmt: str, ctype: str) -> None:
    alice = await sign_in(client)
    resp = await _put(client, alice.headers, _image(fmt), f"me.{fmt.lower()}", ctype)
    assert resp.status_code == 200, resp.text
    sha = resp.json()["sha256"]
    profile = (await client.get(f"/v1/users/{alice.wallet}")).json()
    assert profile["avatar_url"] == resp.json()["avatar_url"]
    got = await client.get(f"/v1/users/{alice.wallet}/avatar")
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/webp"
    assert got.headers["etag"] == f'"{sha}"'
    assert "max-age" in got.headers["cache-control"]
    img = Image.open(io.BytesIO(got.content))
    assert (img.format, img.size) == ("WEBP", (256, 256))
    cached = await client.get(f"/v1/users/{alice.wallet}/avatar", headers={"If-None-Match": f'"{sha}"'})
    assert cached.status_code == 304
    assert cached.content == b""
    stale = await client.get(f"/v1/users/{alice.wallet}/avatar", headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200


async def test_gps_exif_never_reaches_storage(client: httpx.AsyncClient, settings: Settings) -> None:
    alice = await sign_in(client)
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    raw = _image("JPEG", exif=exif.tobytes())
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload really carries GPS
    resp = await _put(client, alice.headers, raw, "holiday.jpg", "image/jpeg")
    assert resp.status_code == 200
    sha = resp.json()["sha256"]
    stored = list((Path(settings.data_dir) / "avatars").rglob(f"{sha}.webp"))
    assert len(stored) == 1
    for data in (stored[0].read_bytes(), (await client.get(f"/v1/users/{alice.wallet}/avatar")).content):
        assert b"SpyCam" not in data
        assert b"Exif" not in data
        img = Image.open(io.BytesIO(data))
        assert not img.getexif()
        assert not img.getexif().get_ifd(0x8825)


async def test_served_from_the_database_when_the_local_copy_is_gone(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    alice = await sign_in(client)
    resp = await _put(client, alice.headers, _image("PNG"), "a.png", "image/png")
    for path in (Path(settings.data_dir) / "avatars").rglob("*.webp"):
        path.unlink()  # another server process, with its own ATLAS_DATA_DIR
    got = await client.get(f"/v1/users/{alice.wallet}/avatar")
    assert got.status_code == 200
    assert got.headers["etag"] == f'"{resp.json()["sha256"]}"'


async def test_every_bad_file_gets_a_clear_code(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, format="PNG")  # 144 Mpx in ~20 KiB
    png = _image("PNG", (600, 600))
    cases = [
        (bomb.getvalue(), "bomb.png", "image/png", 413, "image_too_large"),
        (png[: len(png) // 2], "cut.png", "image/png", 422, "image_invalid"),
        (b"MZ\x90\x00 this is an executable, not a picture", "cat.png", "image/png", 415, "unsupported_media_type"),
        (_image("BMP"), "old.bmp", "image/bmp", 415, "unsupported_media_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * 1024 * 1024), "big.png", "image/png", 413, "image_too_large"),
        (b"", "empty.png", "image/png", 422, "image_invalid"),
    ]
    for data, name, ctype, status, code in cases:
        resp = await _put(client, alice.headers, data, name, ctype)
        assert resp.status_code == status, (name, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["code"] == code, name
    huge = await _put(client, alice.headers, b"\0" * (6 * 1024 * 1024 + 10), "huge.png", "image/png")
    assert huge.status_code == 413
    as_json = await client.put("/v1/users/me/avatar", json={"file": "x"}, headers=alice.headers)
    assert as_json.status_code == 415
    no_field = await client.put("/v1/users/me/avatar", files={"image": ("a.png", png, "image/png")}, headers=alice.headers)
    assert no_field.status_code == 422
    assert (await client.get(f"/v1/users/{alice.wallet}")).json()["avatar_url"] is None
    assert (await client.get(f"/v1/users/{alice.wallet}/avatar")).json()["code"] == "avatar_not_found"


async def test_a_stranger_cannot_change_someone_elses_avatar(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    mallory = await sign_in(client)
    first = await _put(client, alice.headers, _image("PNG"), "a.png", "image/png")
    anonymous = await client.put("/v1/users/me/avatar", files={"file": ("x.png", _image("GIF"), "image/png")})
    assert anonymous.status_code == 401
    other = await client.put(
        f"/v1/users/{alice.wallet}/avatar", files={"file": ("x.png", _image("GIF"), "image/png")}, headers=mallory.headers
    )
    assert other.status_code == 405
    await _put(client, mallory.headers, _image("JPEG"), "m.jpg", "image/jpeg")
    got = await client.get(f"/v1/users/{alice.wallet}/avatar")
    assert got.headers["etag"] == f'"{first.json()["sha256"]}"'


async def test_malformed_multipart_is_a_problem_not_a_crash(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    for ctype, body in [
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc"),
        ("multipart/form-data", b"no boundary at all"),
        ("multipart/form-data; boundary=xyz", b"\xff\xfe garbage"),
    ]:
        resp = await client.put(
            "/v1/users/me/avatar", content=body, headers={**alice.headers, "content-type": ctype}
        )
        assert 400 <= resp.status_code < 500, (ctype, resp.status_code, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
