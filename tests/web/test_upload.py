"""Uploading images inside the chat: one-time addresses, caps while streaming, every bad file, the vault, no plaintext."""

from __future__ import annotations

import base64
import io
import random
import uuid
from typing import Any, AsyncIterator

import aiohttp
import pytest
import socketio
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st
from sqlalchemy import select, text, update

from bot.db import Database, make_engine
from bot.images.hashing import hamming_hex
from bot.images.intake import MESSAGES, check_and_hash
from bot.images.vault import Vault, VaultError, load_or_create_master_key
from bot.models.reports import ImageMatch, Report, ReportImage, UploadLink
from bot.reports import ReportService, UploadLimits, is_reference
from tests.harness import Person, wait_for
from tests.imagefactory import (
    JPEG_SIGNATURE,
    PNG_SIGNATURE,
    html_jpeg_polyglot,
    make_animated_gif,
    make_heic,
    make_image,
    png_claiming,
    resized_reencoded,
    text_file,
    truncated,
)

NS = "/chat"
MB = 1024 * 1024


def cid() -> str:
    return f"c-{uuid.uuid4().hex}"


async def choose(client: socketio.AsyncClient, option: str) -> dict[str, Any]:
    reply = await client.call("choose", {"option": option, "client_id": cid()}, namespace=NS, timeout=10)
    assert reply["ok"], reply
    return reply


async def to_upload_step(kid: Person) -> socketio.AsyncClient:
    """Sign in on the socket and go menu -> report -> under 13 -> report_upload."""
    client = await kid.connect(NS)
    reply = await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
    assert reply["ok"], reply
    await choose(client, "report")
    await choose(client, "age_under_13")
    await wait_for(lambda: any(s["state"] == "report_upload" for s in kid.received("state")))
    return client


async def link(client: socketio.AsyncClient) -> dict[str, Any]:
    return await client.call("upload_link", {}, namespace=NS, timeout=10)


async def post_files(kid: Person, url: str, files: list[tuple[str, bytes | Any]], *,
                     csrf: bool = True) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    for name, data in files:
        form.add_field("file", data, filename=name, content_type="image/jpeg")
    headers = {"Origin": kid.base_url.rstrip("/"), "Accept": "application/json"}
    if csrf:
        headers["X-CSRF-Token"] = kid.csrf
    async with kid.http.post(kid.base_url.rstrip("/") + url, data=form, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def upload(kid: Person, client: socketio.AsyncClient, name: str, data: bytes | Any) -> tuple[int, dict[str, Any]]:
    issued = await link(client)
    assert issued["ok"], issued
    return await post_files(kid, issued["url"], [(name, data)])


def bot_texts(kid: Person) -> list[str]:
    return [m["text"] for m in kid.received("message") if m["sender"] == "bot"]


async def report_rows(database_url: str) -> tuple[list[Report], list[ReportImage]]:
    engine = make_engine(database_url)
    try:
        db = Database(engine)
        async with db.read() as session:
            reports = list((await session.execute(select(Report).order_by(Report.id))).scalars())
            images = list((await session.execute(select(ReportImage).order_by(ReportImage.id))).scalars())
        return reports, images
    finally:
        await engine.dispose()


# The happy path, on both databases -----------------------------------------------------------


async def test_upload_confirm_submit_gives_a_reference(server, people, database_url, tmp_path) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    assert any("add your images now" in t for t in bot_texts(kid))

    # Nothing added yet: "I've added them all" stays in the upload step and says so.
    await choose(client, "upload_done")
    await wait_for(lambda: any("haven't received any images" in t for t in bot_texts(kid)))

    first, second = make_image(640, 480, seed=1), make_image(800, 600, kind="text", seed=2)
    status, body = await upload(kid, client, "a.jpg", first)
    assert status == 200 and body["results"][0]["status"] == "received" and body["received"] == 1, body
    status, body = await upload(kid, client, "b.jpg", second)
    assert status == 200 and body["received"] == 2, body
    await wait_for(lambda: any("2 images received" in t for t in bot_texts(kid)))
    assert any("1 image received" in t for t in bot_texts(kid))

    await choose(client, "upload_done")
    await wait_for(lambda: any(s["state"] == "report_confirm" for s in kid.received("state")))
    await wait_for(lambda: any("You've added 2 images" in t for t in bot_texts(kid)))
    await choose(client, "report_submit")
    await wait_for(lambda: any("Your reference is" in t for t in bot_texts(kid)))
    said = next(t for t in bot_texts(kid) if "Your reference is" in t)
    reference = said.split("Your reference is ")[1].split(".")[0]
    assert is_reference(reference) and not set(reference[4:].replace("-", "")) & set("0O1I")

    reports, images = await report_rows(database_url)
    assert [(r.status, r.reference, r.age_band, r.under_18, r.verification_method) for r in reports] == [
        ("submitted", reference, "under_13", "yes", "self_declared")]
    assert reports[0].submitted_at is not None and reports[0].submitted_at.tzinfo is not None
    assert sorted(i.sha256 for i in images) == sorted(check_and_hash(d).sha256 for d in (first, second))
    assert all(i.status == "quarantined" and i.wrapped_key for i in images)
    expected = check_and_hash(first)
    row = next(i for i in images if i.sha256 == expected.sha256)
    assert (row.md5, row.sha1, row.pdq, row.pdq_quality, row.phash, row.format, row.width, row.height) == (
        expected.md5, expected.sha1, expected.pdq, expected.pdq_quality, expected.phash, "JPEG", 640, 480)

    # The report is sent: the address step is over and no new address is handed out.
    refused = await link(client)
    assert refused == {"ok": False, "error": {"code": "not_uploading", "message": refused["error"]["message"]}}


# Every bad file gets its own message; nothing accepted before it is lost ----------------------------


async def test_each_bad_file_gets_its_own_message_and_loses_nothing(server, people) -> None:
    base = await server(upload_max_file_mb=2)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    status, body = await upload(kid, client, "good.jpg", make_image(640, 480, seed=11))
    assert status == 200 and body["received"] == 1

    over_cap = JPEG_SIGNATURE + random.Random(5).randbytes(3 * MB)
    bad = [
        ("empty.jpg", b"", 400, "empty_file"),
        ("big.jpg", over_cap, 413, "file_too_large"),
        ("notes.jpg", text_file(), 415, "not_an_image"),
        ("page.jpg", html_jpeg_polyglot(html_first=True), 415, "web_page"),
        ("cut.jpg", truncated(make_image(800, 600, kind="noise", seed=3)), 422, "image_truncated"),
        ("bomb.png", png_claiming(30000, 30000), 422, "image_too_big"),
    ]
    messages = set()
    for name, data, want_status, code in bad:
        status, body = await upload(kid, client, name, data)
        assert (status, body["ok"], body["error"]["code"]) == (want_status, False, code), (name, body)
        assert body["results"][-1]["error"]["code"] == code
        message = body["error"]["message"]
        assert message and "<" not in message and code not in message
        messages.add(message)
    assert len(messages) == len(bad)  # each has its own words

    # Two tricky files that are fine: an animated GIF (hashed on its first frame, flagged) and a HEIC.
    status, body = await upload(kid, client, "moving.gif", make_animated_gif(frames=3))
    assert status == 200 and body["results"][0]["animated"] is True and "moving picture" in body["results"][0]["message"]
    status, body = await upload(kid, client, "phone.heic", make_heic(640, 480, seed=4))
    assert status == 200 and body["received"] == 3, body
    await wait_for(lambda: any("3 images received" in t for t in bot_texts(kid)))
    # The refusals said nothing in the chat and cost nothing: the count only ever went up.
    counts = [t for t in bot_texts(kid) if "received so far" in t]
    assert counts == ["Got it: 1 image received so far.", "Got it: 2 images received so far.",
                      "Got it: 3 images received so far."]


async def test_a_60_mb_stream_is_cut_off_at_the_default_cap(server, people) -> None:
    base = await server()  # the default 20 MB per file
    kid = await people.child(base)
    client = await to_upload_step(kid)
    await upload(kid, client, "first.jpg", make_image(320, 240, seed=1))
    chunk = random.Random(1).randbytes(256 * 1024)
    sent = 0

    async def sixty_megabytes() -> AsyncIterator[bytes]:
        # A generator, so the test never holds 60 MB: the request goes out chunked, with no length.
        nonlocal sent
        yield JPEG_SIGNATURE
        for _ in range(60 * 4):
            sent += len(chunk)
            yield chunk

    issued = await link(client)
    status, body = await post_files(kid, issued["url"], [("huge.jpg", sixty_megabytes())])
    assert status == 413 and body["error"]["code"] == "file_too_large" and "20 MB" in body["error"]["message"]
    # The server stopped reading well before the end of the 60 MB.
    assert sent < 60 * MB
    status, body = await upload(kid, client, "after.jpg", make_image(320, 240, seed=2))
    assert status == 200 and body["received"] == 2


async def test_report_byte_cap_and_file_count_cap(server, people, tmp_path) -> None:
    base = await server(upload_max_file_mb=1, upload_max_report_mb=1, upload_max_files=2)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    big = [make_image(1500, 1100, kind="noise", seed=s, quality=95) for s in (1, 2)]
    assert all(MB // 2 < len(b) < MB for b in big), [len(b) for b in big]
    assert (await upload(kid, client, "1.jpg", big[0]))[0] == 200
    status, body = await upload(kid, client, "2.jpg", big[1])
    assert status == 413 and body["error"]["code"] == "report_full" and "already sent are safe" in body["error"]["message"]
    assert (await upload(kid, client, "3.jpg", make_image(64, 48, seed=3)))[1]["received"] == 2
    status, body = await upload(kid, client, "4.jpg", make_image(64, 48, seed=4))
    assert status == 413 and body["error"]["code"] == "too_many_files"
    reports, images = await report_rows(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    assert len(images) == 2 and reports[0].bytes_received == sum(i.byte_size for i in images) <= MB


async def test_same_file_twice_counts_once_and_several_files_in_one_request(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await to_upload_step(kid)
    one, two = make_image(320, 240, seed=21), make_image(320, 240, seed=22)
    issued = await link(client)
    status, body = await post_files(kid, issued["url"], [("a.jpg", one), ("b.jpg", two), ("a-again.jpg", one)])
    assert status == 200, body
    assert [r["status"] for r in body["results"]] == ["received", "received", "duplicate"]
    assert "already sent this image" in body["results"][2]["message"] and body["received"] == 2
    status, body = await upload(kid, client, "a3.jpg", one)
    assert status == 200 and body["results"][0]["status"] == "duplicate" and body["received"] == 2
    await choose(client, "upload_done")
    await wait_for(lambda: any("You've added 2 images" in t for t in bot_texts(kid)))


async def test_seen_before_links_a_near_duplicate_in_another_report(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    original = make_image(1200, 900, kind="shapes", seed=31)
    first, second = await people.child(base), await people.child(base)
    c1 = await to_upload_step(first)
    assert (await upload(first, c1, "x.jpg", original))[0] == 200
    c2 = await to_upload_step(second)
    copy = resized_reencoded(original, 0.5)
    assert (await upload(second, c2, "copy.jpg", copy))[0] == 200
    assert (await upload(second, c2, "other.jpg", make_image(640, 480, kind="noise", seed=99)))[0] == 200

    engine = make_engine(database_url)
    try:
        async with Database(engine).read() as session:
            matches = list((await session.execute(select(ImageMatch))).scalars())
            images = {i.id: i for i in (await session.execute(select(ReportImage))).scalars()}
    finally:
        await engine.dispose()
    assert len(matches) == 1, matches
    match = matches[0]
    mine, theirs = images[match.image_id], images[match.matched_image_id]
    assert mine.report_id != theirs.report_id and mine.sha256 == check_and_hash(copy).sha256
    assert match.source == "report" and match.distance == hamming_hex(mine.pdq, theirs.pdq) <= 31


# Who may upload, and when ------------------------------------------------------------------------


async def test_upload_address_is_one_time_own_child_own_state_and_expires(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, other = await people.child(base), await people.child(base)
    client = await to_upload_step(kid)
    image = make_image(320, 240, seed=41)

    issued = await link(client)
    assert issued["ok"] and issued["url"].startswith("/upload/") and issued["max_files"] == 20
    assert issued["max_file_bytes"] == 20 * MB and issued["received"] == 0
    # Another child cannot use it, and trying does not spend it.
    status, body = await post_files(other, issued["url"], [("x.jpg", image)])
    assert (status, body["error"]["code"]) == (403, "not_your_upload")
    status, body = await post_files(kid, issued["url"], [("x.jpg", image)])
    assert status == 200
    # Used once: a second request with the same address is refused.
    status, body = await post_files(kid, issued["url"], [("y.jpg", make_image(320, 240, seed=42))])
    assert (status, body["error"]["code"]) == (410, "upload_link_used")
    # Unknown address, not signed in, a GET (there is nothing to download, ever), no CSRF token.
    status, body = await post_files(kid, "/upload/not-a-real-token", [("x.jpg", image)])
    assert (status, body["error"]["code"]) == (404, "upload_link_unknown")
    fresh = await link(client)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.post(base.rstrip("/") + fresh["url"], data={"file": io.BytesIO(image)},
                                  headers={"Origin": base.rstrip("/")}) as r:
            assert r.status in (401, 403)
        async with anonymous.get(base.rstrip("/") + fresh["url"]) as r:
            assert r.status == 405
    status, body = await post_files(kid, fresh["url"], [("x.jpg", image)], csrf=False)
    assert (status, body["error"]["code"]) == (403, "csrf_failed")

    # Expired: the clock is moved by editing the stored expiry.
    expiring = await link(client)
    engine = make_engine(database_url)
    try:
        async with Database(engine).write() as session:
            await session.execute(update(UploadLink).values(expires_at=UploadLink.created_at))
    finally:
        await engine.dispose()
    status, body = await post_files(kid, expiring["url"], [("x.jpg", make_image(320, 240, seed=43))])
    assert (status, body["error"]["code"]) == (410, "upload_link_expired")

    # Leaving the upload step withdraws every address handed out in it, and no new one is given.
    pending = await link(client)
    await choose(client, "talk")
    await wait_for(lambda: kid.received("state")[-1]["state"] == "queue")
    status, body = await post_files(kid, pending["url"], [("x.jpg", make_image(320, 240, seed=44))])
    assert (status, body["error"]["code"]) == (410, "upload_link_expired")
    refused = await link(client)
    assert refused["ok"] is False and refused["error"]["code"] == "not_uploading"

    # Coming back to the report (from the queue) keeps the image already accepted.
    await choose(client, "report")
    await choose(client, "age_under_13")
    await wait_for(lambda: any("already has 1 image" in t for t in bot_texts(kid)))


async def test_staff_cannot_upload_even_with_a_childs_address(server, people, tmp_path) -> None:
    from bot.accounts import Accounts, Passwords

    base = await server()
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    for username, role in (("coun1", "counsellor"), ("anal1", "analyst")):
        await Accounts(Database(engine), Passwords()).do_create_user(username, "long enough pw", role)
    await engine.dispose()
    kid = await people.child(base)
    client = await to_upload_step(kid)
    issued = await link(client)
    for username, role in (("coun1", "counsellor"), ("anal1", "analyst")):
        staff = await people.staff(base, username, "long enough pw", role)
        status, body = await post_files(staff, issued["url"], [("x.jpg", make_image(64, 48, seed=1))])
        assert (status, body["error"]["code"]) == (403, "forbidden")
    # Their attempts did not spend the child's address.
    status, body = await post_files(kid, issued["url"], [("x.jpg", make_image(64, 48, seed=1))])
    assert status == 200 and body["received"] == 1
    # A child elsewhere in the chat (the menu) is given no address.
    other = await people.child(base)
    other_client = await other.connect(NS)
    await other_client.call("hello", {"after": 0}, namespace=NS, timeout=10)
    refused = await link(other_client)
    assert refused["ok"] is False and refused["error"]["code"] == "not_uploading"


async def test_cancel_destroys_the_images(server, people, tmp_path) -> None:
    base = await server()
    kid = await people.child(base)
    client = await to_upload_step(kid)
    assert (await upload(kid, client, "x.jpg", make_image(320, 240, seed=51)))[0] == 200
    vault = tmp_path / "vault"
    assert len([p for p in vault.iterdir() if not p.name.startswith(".")]) == 1
    await choose(client, "report_cancel")
    await wait_for(lambda: any("haven't sent it" in t for t in bot_texts(kid)))
    await wait_for(lambda: kid.received("state")[-1]["state"] == "menu")
    reports, images = await report_rows(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    assert [r.status for r in reports] == ["cancelled"]
    assert [(i.status, i.wrapped_key) for i in images] == [("purged", None)]
    assert list(vault.iterdir()) == []


# No plaintext anywhere; the vault holds ciphertext that only the right key opens ----------------


def _slices(data: bytes) -> list[bytes]:
    middle = len(data) // 2
    return [data[middle : middle + 64], data[len(data) // 3 : len(data) // 3 + 64]]


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _walk(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _walk(v)]
    return [value]


async def test_no_plaintext_image_bytes_on_disk_in_the_database_or_to_the_child(
        server, people, database_url, tmp_path) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    images = [make_image(900, 700, kind="noise", seed=61), make_image(400, 300, fmt="PNG", seed=62),
              make_heic(320, 240, seed=63)]
    for index, data in enumerate(images):
        status, body = await upload(kid, client, f"{index}.img", data)
        assert status == 200, body
        # HTTP answers are small JSON: never the image back.
        assert all(not isinstance(v, (bytes, bytearray)) for v in _walk(body)) and len(str(body)) < 1000
    await choose(client, "upload_done")
    await choose(client, "report_submit")
    await wait_for(lambda: any("Your reference is" in t for t in bot_texts(kid)))

    needles = [s for data in images for s in _slices(data)]
    encoded = [base64.b64encode(s).decode()[:40] for s in needles]
    # The data folder: vault ciphertext, master key, and (on SQLite) the database file and its WAL.
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    vault_files = [p for p in files if p.parent == tmp_path / "vault"]
    assert len(vault_files) == 3
    if database_url.startswith("sqlite"):
        assert {p.name for p in files} >= {"haven.db", "haven.db-wal"}
    for path in files:
        content = path.read_bytes()
        assert not content.startswith((JPEG_SIGNATURE, PNG_SIGNATURE)), path
        assert b"ftypheic" not in content[:32], path
        for needle in needles:
            assert needle not in content, f"plaintext image bytes in {path}"
    # Every row of every table, on either database.
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: __import__("sqlalchemy").inspect(c).get_table_names())
            dump = bytearray()
            for name in names:
                for row in (await connection.execute(text(f'SELECT * FROM "{name}"'))).all():
                    for value in row:
                        dump += value if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
    finally:
        await engine.dispose()
    for needle, b64 in zip(needles, encoded):
        assert needle not in dump and b64.encode() not in dump
    # The child's socket carried text only.
    for _, payload in kid.events:
        for value in _walk(payload):
            assert not isinstance(value, (bytes, bytearray))
            assert not any(b64 in str(value) for b64 in encoded)

    # The vault opens each image with the right key and report, and with nothing else.
    key = load_or_create_master_key(tmp_path / "master.key")
    vault = Vault(key, tmp_path / "vault")
    _, rows = await report_rows(database_url)
    by_sha = {check_and_hash(d).sha256: d for d in images}
    for row in rows:
        assert row.wrapped_key is not None
        assert vault.open(row.vault_id, str(row.report_id), row.wrapped_key) == by_sha[row.sha256]
    row = rows[0]
    with pytest.raises(VaultError):
        Vault(bytes(32), tmp_path / "vault").open(row.vault_id, str(row.report_id), row.wrapped_key)
    with pytest.raises(VaultError):
        vault.open(row.vault_id, str(row.report_id + 1), row.wrapped_key)
    path = tmp_path / "vault" / row.vault_id
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(VaultError):
        vault.open(row.vault_id, str(row.report_id), row.wrapped_key)


# Crashes and fuzz --------------------------------------------------------------------------------


async def test_a_vault_file_left_by_a_crash_is_swept_on_start(server, people, tmp_path) -> None:
    import os

    vault_dir = tmp_path / "vault"
    vault_dir.mkdir(mode=0o700)
    key = load_or_create_master_key(tmp_path / "master.key")
    Vault(key, vault_dir).seal("crashed0", "1", make_image(64, 48, seed=71))
    os.utime(vault_dir / "crashed0", (1_000_000_000, 1_000_000_000))
    (vault_dir / ".half.tmp").write_bytes(b"\x00" * 10)
    os.utime(vault_dir / ".half.tmp", (1_000_000_000, 1_000_000_000))
    base = await server()
    assert list(vault_dir.iterdir()) == []
    kid = await people.child(base)
    client = await to_upload_step(kid)
    assert (await upload(kid, client, "x.jpg", make_image(64, 48, seed=72)))[0] == 200
    assert len(list(vault_dir.iterdir())) == 1


async def test_sweep_keeps_live_images_and_young_files(db, tmp_path) -> None:
    import os

    key = load_or_create_master_key(tmp_path / "master.key")
    vault = Vault(key, tmp_path / "vault")
    service = ReportService(db, UploadLimits(), vault=vault)
    async with db.write() as session:
        await session.execute(text(
            "INSERT INTO users (username, username_key, password_hash, role, disabled, created_at) "
            "VALUES ('k', 'k', 'x', 'child', false, CURRENT_TIMESTAMP)"))
        await session.execute(text(
            "INSERT INTO conversations (child_id, state, version, last_seq, risk_score, context, child_read_seq, "
            "staff_read_seq, opened_at, updated_at) VALUES (1, 'report_upload', 1, 0, 0, '{}', 0, 0, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        session.add(Report(id=1, conversation_id=1, child_id=1))
        await session.flush()
        wrapped = vault.seal("live", "1", b"x")
        session.add(ReportImage(report_id=1, vault_id="live", sha256="0" * 64, sha1="0" * 40, md5="0" * 32,
                                pdq="0" * 64, pdq_quality=100, phash="0" * 16, format="JPEG", width=1, height=1,
                                frames=1, byte_size=1, wrapped_key=wrapped))
    vault.seal("orphan", "1", b"y")
    vault.seal("young", "1", b"z")
    for name in ("live", "orphan"):
        os.utime(tmp_path / "vault" / name, (1_000_000_000, 1_000_000_000))
    assert await service.do_sweep_vault(tmp_path / "vault") == 1
    assert sorted(p.name for p in (tmp_path / "vault").iterdir()) == ["live", "young"]


def _mutants(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    seeds = [make_image(96, 72, seed=1), make_image(96, 72, fmt="PNG", seed=2), make_image(96, 72, fmt="WEBP", seed=3),
             make_image(96, 72, fmt="GIF", seed=4), make_heic(64, 48, seed=5)]
    out: list[bytes] = []
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        how = rng.randrange(5)
        if how == 0:
            for _ in range(rng.randint(1, 30)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 1:
            data = data[: rng.randrange(1, len(data))]
        elif how == 2:
            at = rng.randrange(len(data))
            data[at:at] = rng.randbytes(rng.randint(1, 200))
        elif how == 3:
            other = rng.choice(seeds)
            data = data[: rng.randrange(len(data))] + other[rng.randrange(len(other)):]
        else:
            data = bytearray(data[:12] + rng.randbytes(rng.randint(0, 2000)))
        out.append(bytes(data))
    return out


# Every intake code (a mutated header can also make a file look like a video), and the web page's own.
KNOWN_CODES = set(MESSAGES) | {"web_page"}


async def test_fuzzed_files_over_http_never_break_the_server(server, people) -> None:
    base = await server(upload_max_files=200)
    kid = await people.child(base)
    client = await to_upload_step(kid)
    outcomes: dict[str, int] = {}
    for data in _mutants(seed=8, count=60):
        status, body = await upload(kid, client, "fuzz.bin", data)
        result = body["results"][0]
        code = result["status"] if result["ok"] else result["error"]["code"]
        assert code in KNOWN_CODES | {"received", "duplicate"}, body
        assert status == (200 if result["ok"] else body and status)
        outcomes[code] = outcomes.get(code, 0) + 1
    assert len(outcomes) >= 3, outcomes  # the mutations reach several refusals, not one
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "healthz") as r:
            assert r.status == 200
    status, body = await upload(kid, client, "after.jpg", make_image(200, 150, seed=81))
    assert status == 200 and body["results"][0]["status"] == "received"


@hyp_settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=4096),
    st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP",
                     b"\x00\x00\x00\x18ftypheic"]).flatmap(lambda head: st.binary(max_size=2048).map(lambda t: head + t)),
))
def test_intake_refuses_random_bytes_with_a_known_code(data: bytes) -> None:
    from bot.images.intake import IntakeError, IntakeLimits

    try:
        check_and_hash(data, IntakeLimits(max_image_bytes=MB, max_decoded_bytes=32 * MB))
    except IntakeError as error:
        assert error.code in KNOWN_CODES and error.message
