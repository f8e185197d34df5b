"""Reviewing videos and animated pictures with the analyst's wellbeing first: a contact sheet of blurred
greyscale frames, one clear frame at a time on request, the timestamps of frames that match another
report or the list, a 16-bit PNG's preview, and the video's hashes published with its frames."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import numpy as np
from PIL import Image

from bot.images.intake import check_and_hash
from tests.harness import Person, wait_for
from tests.imagefactory import make_animated_gif
from tests.videofactory import decoded_frames, make_video
from tests.web.test_review import audit_actions, bot_texts, get, queue_item, staff
from tests.web.test_review import report_files as uploaded
from tests.web.test_upload_video import _rows

async def report_files(kid: Person, files: list[tuple[str, bytes]]) -> str:
    return (await uploaded(kid, files))[1]


async def view(person: Person, image_id: int, kind: str, frame: int | None = None) -> tuple[int, bytes]:
    headers = {"Origin": person.base_url.rstrip("/"), "X-CSRF-Token": person.csrf}
    body = json.dumps({"frame": frame}).encode() if frame is not None else None
    if body:
        headers["Content-Type"] = "application/json"
    async with person.http.post(person.base_url.rstrip("/") + f"/review/images/{image_id}/{kind}", data=body,
                                headers=headers) as r:
        return r.status, await r.read()


def sixteen_bit_png() -> bytes:
    ys, xs = np.mgrid[0:600, 0:800]
    out = io.BytesIO()
    Image.fromarray(((xs * 80 + ys * 30) % 65536).astype(np.uint16)).save(out, "PNG")
    return out.getvalue()


async def open_report(analyst: Person, reference: str) -> dict[str, Any]:
    item = await queue_item(analyst, reference)
    status, body = await analyst.post(f"/review/api/reports/{item['id']}/start")
    assert status == 200, body
    status, body = await get(analyst, f"/review/api/reports/{item['id']}")
    assert status == 200, body
    return body["report"]  # type: ignore[no-any-return]


async def test_a_video_is_reviewed_frame_by_frame_and_its_frames_are_found_again(server, people, database_url, tmp_path):
    base = await server(database_url=database_url)
    video = make_video(8.0, 320, 240, fps=10, seed=31, audio=True, kinds=("shapes", "noise"))
    first = await people.child(base)
    reference = await report_files(first, [("clip.mp4", video), ("deep.png", sixteen_bit_png()),
                                           ("moving.gif", make_animated_gif(frames=4, seed=2))])
    analyst = await staff(base, people, database_url, "analyst")
    report = await open_report(analyst, reference)
    clip, png, gif = report["images"]
    assert (clip["media"], clip["format"], clip["codec"], clip["width"], clip["height"]) == (
        "video", "MP4", "h264", 320, 240)
    assert clip["pdq_quality"] is None and round(clip["duration"]) == 8
    assert [round(f["timestamp"]) for f in clip["sampled"]] == list(range(8))
    assert (gif["media"], gif["frames"], len(gif["sampled"])) == ("image", 4, 4)
    assert png["sampled"] == []

    # The video's preview is a contact sheet of blurred greyscale frames; each frame may be seen blurred
    # or clear on its own, and nothing else: a frame that does not exist is refused.
    status, data = await view(analyst, clip["id"], "preview")
    sheet = Image.open(io.BytesIO(data))
    assert status == 200 and sheet.format == "JPEG" and sheet.mode == "L" and sheet.width >= 4 * 240 > sheet.height
    status, data = await view(analyst, clip["id"], "preview", 2)
    assert status == 200 and Image.open(io.BytesIO(data)).mode == "L"
    status, data = await view(analyst, clip["id"], "reveal", 5)
    revealed = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)
    shown = next(p for t, p in decoded_frames(video) if t >= 5.0 - 1e-6)
    assert status == 200 and revealed.shape == shown.shape and np.abs(revealed - shown).mean() < 8
    status, data = await view(analyst, clip["id"], "reveal", 99)
    assert status == 400 and json.loads(data)["error"]["code"] == "bad_frame"
    # The 16-bit PNG's blurred preview (a 500 before) and the animated picture's sheet and frames.
    for image in (png, gif):
        status, data = await view(analyst, image["id"], "preview")
        assert status == 200 and Image.open(io.BytesIO(data)).mode == "L", image
    status, data = await view(analyst, gif["id"], "reveal", 3)
    assert status == 200
    actions = await audit_actions(database_url, tmp_path)
    assert actions.count(("preview", f"image:{clip['id']}", "analyst")) == 2
    assert actions.count(("reveal", f"image:{clip['id']}", "analyst")) == 1

    # Another child reports a still taken from the video at 4.5 s: its card says where it was seen,
    # with the timestamps of the video's frames it matches.
    at, pixels = next((t, p) for t, p in decoded_frames(video) if t >= 4.5)
    still = io.BytesIO()
    Image.fromarray(pixels).save(still, "JPEG", quality=85)
    second = await people.child(base)
    other = await report_files(second, [("screenshot.jpg", still.getvalue())])
    [card] = (await open_report(analyst, other))["images"]
    [seen] = [s for s in card["seen_before"] if s["source"] == "report"]
    assert seen["ref"] == reference and seen["distance"] <= 31 and seen["frames"]
    assert all(abs(t - at) <= 2.0 for t in seen["frames"]), seen

    # The analyst actions the first report: the video goes on the list with its frames, and the still's
    # card now shows the list entry too (matched through the PDQ index, which holds every listed frame).
    for image, verdict in ((clip, "category_a"), (png, "not_indecent"), (gif, "not_indecent")):
        status, body = await analyst.post(f"/review/api/images/{image['id']}/assess", {"verdict": verdict})
        assert status == 200, body
    status, body = await analyst.post(f"/review/api/reports/{report['id']}/decide", {"outcome": "actioned"})
    assert status == 200, body
    await wait_for(lambda: any("fingerprints of 1 image" in t for t in bot_texts(first)))
    status, body = await get(analyst, f"/review/api/reports/{(await queue_item(analyst, other))['id']}")
    [card] = body["report"]["images"]
    listed = [s for s in card["seen_before"] if s["source"] == "hash_list"]
    assert len(listed) == 1 and listed[0]["verdict"] == "category_a" and listed[0]["frames"], card
    images, frames = await _rows(database_url)
    assert check_and_hash(video).sha256 in {i.sha256 for i in images} and frames
