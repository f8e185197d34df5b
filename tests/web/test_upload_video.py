"""Videos in the chat's upload step: taken, hashed and sealed; every bad video refused with its own code and
nothing accepted lost; the video cap while streaming; and no plaintext of a video anywhere on disk."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bot.db import Database, make_engine
from bot.images.intake import MESSAGES, check_and_hash
from bot.images.vault import Vault, load_or_create_master_key
from bot.models.reports import ReportImage, ReportImageFrame
from tests.imagefactory import make_image
from tests.videofactory import audio_only, make_video, with_encryption_marked
from tests.web.test_upload import _slices, bot_texts, choose, link, post_files, to_upload_step, upload, wait_for

MB = 1024 * 1024


async def _rows(database_url: str) -> tuple[list[ReportImage], list[ReportImageFrame]]:
    engine = make_engine(database_url)
    try:
        async with Database(engine).read() as session:
            images = list((await session.scalars(select(ReportImage).order_by(ReportImage.id))).all())
            frames = list((await session.scalars(select(ReportImageFrame).order_by(ReportImageFrame.id))).all())
        return images, frames
    finally:
        await engine.dispose()


async def test_a_phone_video_is_taken_hashed_and_sealed(server, people, database_url, tmp_path) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    issued = await link(client)
    assert issued["max_video_bytes"] == 200 * MB and issued["max_video_seconds"] == 600
    clip = make_video(5.0, 320, 240, fps=10, seed=11, audio=True)
    status, body = await upload(kid, client, "clip.mp4", clip)
    assert status == 200, body
    result = body["results"][0]
    assert (result["status"], result["media"], result["animated"]) == ("received", "video", True)
    assert "without its sound" in result["message"] and body["received"] == 1
    await wait_for(lambda: any("1 image received" in t for t in bot_texts(kid)))
    status, body = await upload(kid, client, "again.mp4", clip)
    assert body["results"][0]["status"] == "duplicate" and "this video" in body["results"][0]["message"]

    images, frames = await _rows(database_url)
    expected = check_and_hash(clip)
    [row] = images
    assert (row.media, row.format, row.codec, row.width, row.height, row.pdq, row.phash) == (
        "video", "MP4", "h264", 320, 240, None, None)
    assert row.duration_ms == round(expected.duration * 1000) and row.frames == 5
    assert [(f.position, f.timestamp_ms, f.pdq) for f in frames] == [
        (n, round(f.timestamp * 1000), f.pdq) for n, f in enumerate(expected.frame_hashes)]
    vault = Vault(load_or_create_master_key(tmp_path / "master.key"), tmp_path / "vault")
    assert vault.open(row.vault_id, str(row.report_id), row.wrapped_key) == clip


async def test_every_bad_video_is_refused_with_its_code_and_loses_nothing(server, people) -> None:
    base = await server(upload_max_video_seconds=3)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    assert (await upload(kid, client, "good.mp4", make_video(2.0, 160, 120, fps=10, seed=1)))[0] == 200
    good = make_video(2.0, 160, 120, fps=10, seed=2)
    bad = [
        ("not.mp4", good[:32] + b"\0" * 4000, 415, "not_a_video"),
        ("voice.m4a", audio_only(), 415, "no_video_stream"),
        ("camera.mov", make_video(2.0, 160, 120, fps=10, codec="mjpeg"), 415, "unsupported_codec"),
        ("long.mp4", make_video(5.0, 160, 120, fps=10, seed=3), 422, "video_too_long"),
        ("cut.mp4", good[: good.find(b"moov") - 100], 422, "video_corrupt"),
        ("locked.mp4", with_encryption_marked(good), 422, "video_encrypted"),
    ]
    for name, data, want, code in bad:
        status, body = await upload(kid, client, name, data)
        assert (status, body["error"]["code"]) == (want, code), (name, body)
        assert body["error"]["message"] == MESSAGES[code]
    status, body = await upload(kid, client, "photo.jpg", make_image(320, 240, seed=3))
    assert status == 200 and body["received"] == 2
    await wait_for(lambda: any("2 images received" in t for t in bot_texts(kid)))
    # The refusals said nothing in the chat and cost nothing: the count only ever went up.
    assert [t for t in bot_texts(kid) if "received so far" in t] == [
        "Got it: 1 image received so far.", "Got it: 2 images received so far."]


async def test_the_video_cap_applies_to_videos_and_the_picture_cap_to_pictures(server, people) -> None:
    base = await server(upload_max_video_mb=1, upload_max_file_mb=2)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    big = make_video(6.0, 640, 480, fps=25, codec="h264", seed=4, kinds=("noise",), options={"qp": "4"})
    assert 1 * MB < len(big) < 20 * MB, len(big)
    status, body = await upload(kid, client, "big.mp4", big)
    assert (status, body["error"]["code"]) == (413, "video_too_large") and "1 MB" in body["error"]["message"]
    photo = make_image(2400, 1800, kind="noise", seed=5, quality=95)
    assert 1 * MB < len(photo) < 2 * MB
    assert (await upload(kid, client, "photo.jpg", photo))[0] == 200
    assert (await upload(kid, client, "small.mp4", make_video(2.0, 160, 120, fps=10, seed=6)))[1]["received"] == 2


def _files_changed_since(folder: Path, since: float) -> list[Path]:
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            try:
                if path.is_file() and path.stat().st_mtime >= since:
                    found.append(path)
            except OSError:
                continue
    return found


async def test_no_plaintext_video_bytes_on_disk(server, people, database_url, tmp_path) -> None:
    started = time.time() - 1
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    videos = [make_video(4.0, 320, 240, fps=10, codec=codec, seed=20 + n, audio=True)
              for n, codec in enumerate(("h264", "vp9", "hevc"))]
    for n, data in enumerate(videos):
        status, body = await upload(kid, client, f"{n}.video", data)
        assert status == 200, body
        assert len(str(body)) < 1000
    await choose(client, "upload_done")
    await choose(client, "report_submit")
    await wait_for(lambda: any("Your reference is" in t for t in bot_texts(kid)))

    needles = [s for data in videos for s in _slices(data)] + [data[:48] for data in videos]
    # The data folder (vault, database, WAL) and the system's temporary folder, where a decoder that
    # spilled to a file would have written it (anything written there during the test is read).
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    files += [p for p in _files_changed_since(Path(tempfile.gettempdir()), started)
              if tmp_path not in p.parents and p.stat().st_size < 64 * MB]
    assert len([p for p in files if p.parent == tmp_path / "vault"]) == 3
    for path in files:
        try:
            content = path.read_bytes()
        except OSError:
            continue
        assert b"ftypisom" not in content[:64] and not content.startswith(b"\x1a\x45\xdf\xa3"), path
        for needle in needles:
            assert needle not in content, f"plaintext video bytes in {path}"
