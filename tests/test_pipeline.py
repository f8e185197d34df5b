"""The whole Report Remove pipeline, end to end, on SQLite and PostgreSQL.

A 13-15 year-old verified through the fake Yoti reports three images and a video in the chat; an analyst
actions two images and the video, not the third image; a partner pulls exactly three entries, the video's
with its frames; a resized, re-encoded copy of an actioned image matches by PDQ within 31 and a trimmed,
re-encoded copy of the video matches by its frames (vPDQ); the child's chat shows the outcome; the images
and the video are purged and the hashes stay.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import aiohttp
import socketio
from sqlalchemy import select

from bot.accounts import Accounts, Passwords
from bot.audit import AuditLog
from bot.db import Database, make_engine
from bot.images.hashing import hamming_hex
from bot.images.intake import check_and_hash
from bot.models.hashlist import HashListEntry
from bot.models.reports import Report, ReportImage
from bot.partners import Partners
from tests.conftest import make_settings
from tests.fakes.fake_yoti import fake_yoti  # noqa: F401  (the fixture, by import)
from tests.harness import Person, audit_keyed, free_port, wait_for
from tests.imagefactory import make_image, resized_reencoded
from tests.videofactory import decoded_frames, encode, make_video

NS = "/chat"
SECRET = "notify-secret-" + "p" * 16
FAST = {"timeout": 2.0, "connect_timeout": 2.0, "retry_attempts": 2, "retry_base_delay": 0.01, "retry_max_delay": 0.05}
STAFF_PASSWORD = "analyst pass word 1"


async def choose(client: socketio.AsyncClient, option: str) -> None:
    reply = await client.call("choose", {"option": option, "client_id": f"c-{uuid.uuid4().hex}"},
                              namespace=NS, timeout=10)
    assert reply["ok"], reply


async def reach(kid: Person, state: str) -> None:
    await wait_for(lambda: any(s["state"] == state for s in kid.received("state")), timeout=10)


def bot_texts(kid: Person) -> list[str]:
    return [m["text"] for m in kid.received("message") if m["sender"] == "bot"]


async def test_report_review_publish_match_tell_and_purge(aiohttp_server, people, fake_yoti, database_url,
                                                          tmp_path: Path) -> None:
    from web.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path, port=port, database_url=database_url, allowed_origins=(base, f"http://localhost:{port}"),
        verification_provider="yoti", yoti_base_url=fake_yoti.base_url, yoti_api_key=fake_yoti.api_key,
        yoti_sdk_id=fake_yoti.sdk_id, yoti_notify_secret=SECRET, image_retention_days=0)
    await aiohttp_server(create_app(settings, verification_tuning=FAST), port=port)

    # The child: 13 to 15, age check through the (fake) Yoti, three images uploaded as the widget does.
    kid = await people.child(base)
    chat = await kid.connect(NS)
    assert (await chat.call("hello", {"after": 0}, namespace=NS, timeout=10))["ok"]
    await choose(chat, "report")
    await choose(chat, "age_13_15")
    await reach(kid, "report_verify")
    await choose(chat, "verify_start")
    links = await wait_for(lambda: [link["url"] for m in kid.received("message") for link in m["links"]
                                    if link["label"] == "Check my age"], timeout=10)
    session_id = re.search(r"sessionId=([0-9a-f-]+)", links[-1]).group(1)  # type: ignore[union-attr]
    fake_yoti.set_outcome("under_18", session_id=session_id)
    assert await fake_yoti.send_notification(session_id) == 200
    await reach(kid, "report_upload")

    originals = [make_image(640, 480, seed=71), make_image(800, 600, kind="text", seed=72),
                 make_image(500, 500, seed=73),
                 make_video(8.0, 320, 240, fps=10, seed=74, audio=True, kinds=("shapes", "noise"))]
    for n, data in enumerate(originals):
        issued = await chat.call("upload_link", {}, namespace=NS, timeout=10)
        assert issued["ok"], issued
        form = aiohttp.FormData()
        name, kind = ("clip.mp4", "video/mp4") if n == 3 else (f"photo{n}.jpg", "image/jpeg")
        form.add_field("file", data, filename=name, content_type=kind)
        async with kid.http.post(base + issued["url"], data=form,
                                 headers={"Origin": base, "X-CSRF-Token": kid.csrf}) as response:
            assert response.status == 200, await response.text()
    await choose(chat, "upload_done")
    await choose(chat, "report_submit")
    await reach(kid, "report_submitted")
    said = next(t for t in bot_texts(kid) if "Your reference is" in t)
    # Easy to read out: no 0/O or 1/I.
    reference = re.search(r"Your reference is (HVN-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2})\.", said).group(1)  # type: ignore[union-attr]

    # The analyst: the report is in the queue with its age check; preview, reveal, assess, decide.
    engine = make_engine(database_url)
    db = audit_keyed(Database(engine), settings.data_path)
    try:
        await Accounts(db, Passwords()).do_create_user("ana-pipeline", STAFF_PASSWORD, "analyst")
        analyst = await people.staff(base, "ana-pipeline", STAFF_PASSWORD, "analyst")
        async with analyst.http.get(base + "/review/api/queue") as response:
            [item] = (await response.json())["reports"]
        assert (item["reference"], item["images"], item["age_band"], item["under_18"],
                item["verification_method"]) == (reference, 4, "13_15", "yes", "age_estimation")
        status, _ = await analyst.post(f"/review/api/reports/{item['id']}/start")
        assert status == 200
        async with analyst.http.get(base + f"/review/api/reports/{item['id']}") as response:
            images = (await response.json())["report"]["images"]
        by_md5 = {check_and_hash(data).md5: data for data in originals}
        async with db.read() as session:
            stored = {i.id: i for i in (await session.scalars(
                select(ReportImage).where(ReportImage.report_id == item["id"]))).all()}
        ordered = [by_md5[stored[i["id"]].md5] for i in images]  # the uploaded bytes of each image, in order
        headers = {"Origin": base, "X-CSRF-Token": analyst.csrf}
        for image in images:
            async with analyst.http.post(base + f"/review/images/{image['id']}/preview", headers=headers) as r:
                assert r.status == 200 and r.headers["Cache-Control"].startswith("no-store")
        async with analyst.http.post(base + f"/review/images/{images[0]['id']}/reveal", headers=headers) as r:
            assert r.status == 200
        assert [i["media"] for i in images] == ["image"] * 3 + ["video"] and len(images[3]["sampled"]) == 8
        async with analyst.http.post(base + f"/review/images/{images[3]['id']}/reveal", json={"frame": 4},
                                     headers=headers) as r:
            assert r.status == 200
        for image, verdict in zip(images, ("category_a", "category_b", "not_indecent", "category_a")):
            status, body = await analyst.post(f"/review/api/images/{image['id']}/assess", {"verdict": verdict})
            assert status == 200, body
        status, body = await analyst.post(f"/review/api/reports/{item['id']}/decide", {"outcome": "actioned"})
        assert status == 200 and body["decision"]["status"] == "confirmed", body

        # The partner pulls exactly the two actioned images' hashes and the video's.
        key = (await Partners(db).do_create("pipeline-platform")).key
        auth = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession() as partner:
            async with partner.get(base + "/api/v1/hashes?since=0", headers=auth) as response:
                assert response.status == 200
                pulled = await response.json()
            assert len(pulled["entries"]) == 3 and not pulled["more"]
            assert {e["status"] for e in pulled["entries"]} == {"active"}
            video = check_and_hash(ordered[3])
            expected = {check_and_hash(ordered[0]).sha256: "A", check_and_hash(ordered[1]).sha256: "B",
                        video.sha256: "A"}
            assert {e["sha256"]: e["category"] for e in pulled["entries"]} == expected
            listed_video = next(e for e in pulled["entries"] if e["media"] == "video")
            assert listed_video["video_md5"] == video.md5 and listed_video["frames"] == [
                f.as_json() for f in video.frame_hashes]

            # A trimmed, re-encoded copy of the video matches by its frames, as vPDQ matches.
            trimmed = check_and_hash(encode([p for t, p in decoded_frames(ordered[3]) if 1.0 <= t < 6.0],
                                            codec="vp9", fps=10))
            async with partner.post(base + "/api/v1/lookup", headers=auth, json={
                    "frames": [f.as_json() for f in trimmed.frame_hashes]}) as response:
                [video_match] = (await response.json())["matches"]
            assert video_match["id"] == listed_video["id"] and video_match["video_match"]["match"]

            # A resized, re-encoded copy of an actioned image matches by PDQ within 31.
            copy = check_and_hash(resized_reencoded(ordered[0], 0.6, quality=70))
            assert copy.sha256 != check_and_hash(ordered[0]).sha256
            async with partner.post(base + "/api/v1/lookup", json={"pdq": copy.pdq}, headers=auth) as response:
                matches = (await response.json())["matches"]
            entry_a = next(e for e in pulled["entries"] if e["category"] == "A")
            assert [m["id"] for m in matches][:1] == [entry_a["id"]]
            assert matches[0]["distance"] == hamming_hex(copy.pdq, entry_a["pdq"]) <= 31
            # The image that was not actioned is not on the list.
            not_actioned = check_and_hash(ordered[2])
            async with partner.post(base + "/api/v1/lookup", json={"sha256": not_actioned.sha256},
                                    headers=auth) as response:
                assert (await response.json())["matches"] == []

        # The child's chat shows the outcome, live, then that the images are gone.
        await wait_for(lambda: any("have now been deleted" in t for t in bot_texts(kid)), timeout=10)
        outcome = next(t for t in bot_texts(kid) if t.startswith(f"Your report {reference} has been checked"))
        assert "fingerprints of 3 images" in outcome and "couldn't do the same for 1 image" in outcome
        assert any("fingerprints stay on the list" in t for t in bot_texts(kid))

        # Purged: no keys, no ciphertext; hashes and assessments remain.
        async with db.read() as session:
            report = (await session.scalars(select(Report).where(Report.reference == reference))).one()
            rows = (await session.scalars(select(ReportImage).where(ReportImage.report_id == report.id))).all()
            entries = (await session.scalars(select(HashListEntry))).all()
        assert report.status == "closed"
        assert [(r.status, r.wrapped_key) for r in rows] == [("purged", None)] * 4
        assert all(r.sha256 and (r.pdq or r.media == "video") for r in rows)
        assert sorted(e.category for e in entries) == ["A", "A", "B"] and all(e.withdrawn_at is None for e in entries)
        vault = settings.data_path / "vault"
        assert vault.is_dir() and not [p for r in rows for p in vault.glob(f"*{r.vault_id}*")]

        actions = [e.action for e in await AuditLog(db).get_entries(limit=1000)]
        assert actions.count("preview") == 4 and actions.count("reveal") == 2 and actions.count("assess") == 4
        assert actions.count("decide") == 1 and actions.count("hash_publish") == 3 and actions.count("purge") == 4
        assert (await AuditLog(db).verify_chain()).ok
    finally:
        await engine.dispose()
