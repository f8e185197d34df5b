"""Partner API and hand-over for videos: entries with their frames (paged, tombstones as for pictures),
lookups by a video's frames, by a still picture's PDQ, and by file hash, all as the OpenAPI says."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import handlers.api_v1 as api_v1
from bot.audit import Actor
from bot.hashlist import HashList
from bot.images.hashing import Frame, ImageHashes
from bot.images.intake import check_and_hash
from tests.videofactory import decoded_frames, encode, make_video
from tests.web.test_api_v1 import ANALYST, _cli, image_hashes, site  # noqa: F401  (site: the fixture)

KINDS = ("shapes", "noise")


def video_hashes() -> tuple[bytes, ImageHashes]:
    data = make_video(8.0, 320, 240, fps=10, seed=41, kinds=KINDS)
    return data, check_and_hash(data)


async def test_video_entries_carry_their_frames_and_are_found_by_frames_stills_and_file_hash(site) -> None:
    base, db, key, api = site
    hashlist, client = HashList(db), api()
    data, video = video_hashes()
    picture = await hashlist.do_publish(ANALYST, 1, "B", image_hashes(1))
    entry = await hashlist.do_publish(ANALYST, 2, "A", video)
    assert entry.media == "video" and entry.pdq is None and len(entry.frames) == len(video.frame_hashes)

    status, page, _ = await client.call("GET", "/hashes")
    assert status == 200 and [e["media"] for e in page["entries"]] == ["image", "video"]
    listed = page["entries"][1]
    assert (listed["md5"], listed["video_md5"], listed["pdq"], listed["pdq_quality"]) == (
        video.md5, video.md5, None, None)
    assert listed["frames"] == [f.as_json() for f in video.frame_hashes]
    assert page["entries"][0]["frames"] == [] and page["entries"][0]["video_md5"] is None

    # A re-encoded, trimmed copy, looked up by its frames: vPDQ's percentages and the matching timestamps.
    trimmed = [p for t, p in decoded_frames(data) if 2.0 <= t < 6.0]
    copy = check_and_hash(encode(trimmed, codec="vp8", fps=10))
    frames = [f.as_json() for f in copy.frame_hashes]
    status, found, _ = await client.call("POST", "/lookup", {"frames": frames})
    assert status == 200 and [m["id"] for m in found["matches"]] == [entry.id]
    match = found["matches"][0]["video_match"]
    assert match["match"] and match["query_percent"] >= 80 and 30 <= match["listed_percent"] <= 70
    assert match["query_frames"] and all(2.0 <= t <= 6.0 for t in match["listed_frames"])
    # Demanding most of the listed video as well: the trimmed copy is not enough.
    status, found, _ = await client.call("POST", "/lookup", {"frames": frames, "min_listed_percent": 90})
    assert found["matches"] == []

    # A still picture that is one frame of the video: found by its PDQ, with the frame's timestamp.
    at, pixels = next((t, p) for t, p in decoded_frames(data) if t >= 3.0)
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=85)
    still = check_and_hash(out.getvalue())
    status, found, _ = await client.call("POST", "/lookup", {"pdq": still.pdq})
    [hit] = [m for m in found["matches"] if m["id"] == entry.id]
    assert hit["distance"] <= 31 and any(abs(t - at) <= 1.0 for t in hit["video_match"]["listed_frames"])

    # File hashes: video MD5 finds only videos; MD5, SHA-1 and SHA-256 find either.
    for name, value in (("video_md5", video.md5), ("md5", video.md5), ("sha256", video.sha256.upper())):
        status, found, _ = await client.call("POST", "/lookup", {name: value})
        assert [(m["id"], m["distance"]) for m in found["matches"]] == [(entry.id, 0)], name
    status, found, _ = await client.call("POST", "/lookup", {"video_md5": image_hashes(1).md5})
    assert found["matches"] == []
    status, found, _ = await client.call("POST", "/lookup", {"md5": image_hashes(1).md5})
    assert [m["id"] for m in found["matches"]] == [picture.id]

    bad = [({"frames": []}, "bad_hash"), ({"frames": [{"pdq": "xyz"}]}, "bad_hash"),
           ({"frames": frames, "min_query_percent": 101}, "bad_percent"),
           ({"video_md5": video.md5, "max_distance": 3}, "bad_max_distance"),
           ({"frames": frames, "pdq": still.pdq}, "one_hash")]
    for body, code in bad:
        status, error, _ = await client.call("POST", "/lookup", body)
        assert (status, error["error"]["code"]) == (400, code), body

    # Withdrawn: a tombstone like any other entry, and no longer found.
    await hashlist.do_withdraw(ANALYST, 2)
    status, page, _ = await client.call("GET", "/hashes", since=page["cursor"])
    assert [(e["id"], e["status"]) for e in page["entries"]] == [(entry.id, "tombstone")]
    status, found, _ = await client.call("POST", "/lookup", {"frames": frames})
    assert found["matches"] == []


async def test_pages_stop_early_rather_than_carry_too_many_frames(site, monkeypatch) -> None:
    base, db, key, api = site
    hashlist, client = HashList(db), api()
    for n in range(4):
        frames = tuple(Frame(float(t), image_hashes(100 * n + t).sha256, 90) for t in range(3))
        files = image_hashes(10 + n)
        await hashlist.do_publish(ANALYST, 10 + n, "C", ImageHashes(files.md5, files.sha1, files.sha256, None,
                                                                   media="video", frame_hashes=frames))
    monkeypatch.setattr(api_v1, "MAX_FRAMES_PER_PAGE", 7)
    seen, cursor, pages = [], "0", 0
    while True:
        status, page, _ = await client.call("GET", "/hashes", since=cursor)
        seen += [e["id"] for e in page["entries"]]
        assert sum(len(e["frames"]) for e in page["entries"]) <= 7
        cursor, pages = page["cursor"], pages + 1
        if not page["more"]:
            break
    assert len(seen) == len(set(seen)) == 4 and pages == 2
    status, text, _ = await client.call("GET", "/export.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [len(r["frames"].split(" ")) for r in rows] == [3, 3, 3, 3]
    assert rows[0]["frames"].split(" ")[0].split(",")[1:] == ["90", "0.0"]


async def test_the_national_hand_over_carries_video_frames(tmp_path: Path) -> None:
    from bot.db import Database, make_engine
    from bot.schema import upgrade

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    await upgrade(engine)
    _, video = video_hashes()
    await HashList(Database(engine)).do_publish(Actor(1, "analyst"), 7, "A", video)
    await engine.dispose()
    done = await asyncio.to_thread(_cli, tmp_path, "export-hashes", "--output", str(tmp_path / "out.json"),
                                   "--format", "json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads((tmp_path / "out.json").read_text())["entries"]
    assert (row["media"], row["video_md5"], row["pdq"], row["report_image_id"]) == ("video", video.md5, None, 7)
    assert row["frames"] == [f.as_json() for f in video.frame_hashes]
    done = await asyncio.to_thread(_cli, tmp_path, "export-hashes", "--output", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    [line] = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert line["video_md5"] == video.md5 and len(line["frames"].split(" ")) == len(video.frame_hashes)
