"""The hash list: publish and withdraw, and a change feed that keeps a pulling partner exactly in sync."""

from __future__ import annotations

import asyncio
import hashlib
import random

import pytest

from bot.audit import Actor, AuditLog
from bot.db import Database, make_engine
from bot.errors import Conflict, Invalid
from bot.hashlist import HashEntry, HashList, ImageHashes

ANALYST = Actor(3, "analyst")


def hashes_for(n: int) -> ImageHashes:
    seed = str(n).encode()
    return ImageHashes(hashlib.md5(seed).hexdigest(), hashlib.sha1(seed).hexdigest(),
                       hashlib.sha256(seed).hexdigest(), hashlib.sha256(b"pdq" + seed).hexdigest(), 90)


class Partner:
    """What a partner keeps: its cursor and the entries it holds, applied change by change."""

    def __init__(self, hashlist: HashList, page: int) -> None:
        self.hashlist = hashlist
        self.page = page
        self.cursor = 0
        self.held: dict[str, HashEntry] = {}
        self.seen_changes: list[int] = []

    async def pull(self) -> None:
        while True:
            page = await self.hashlist.get_changes(self.cursor, self.page)
            for entry in page.entries:
                self.seen_changes.append(entry.change)
                if entry.active:
                    self.held[entry.id] = entry
                else:
                    self.held.pop(entry.id, None)
            self.cursor = page.cursor
            if not page.more:
                return


async def active_entries(hashlist: HashList) -> dict[str, HashEntry]:
    return {entry.id: entry async for entry in hashlist.iter_active(batch=7)}


async def test_publish_is_idempotent_and_changes_are_numbered(db) -> None:
    hashlist = HashList(db)
    first = await hashlist.do_publish(ANALYST, 1, "A", hashes_for(1), report_ref="HVN-7K3P-Q9")
    again = await hashlist.do_publish(ANALYST, 1, "A", hashes_for(1))
    assert again == first and first.change == 1 and first.active
    recategorised = await hashlist.do_publish(ANALYST, 1, "B", hashes_for(1))
    assert (recategorised.id, recategorised.category, recategorised.change) == (first.id, "B", 2)
    gone = await hashlist.do_withdraw(ANALYST, 1)
    assert gone is not None and not gone.active and gone.change == 3 and gone.withdraw_reason == "withdrawn"
    assert await hashlist.do_withdraw(ANALYST, 1) == gone  # withdrawing twice changes nothing
    back = await hashlist.do_publish(ANALYST, 1, "B", hashes_for(1))
    assert (back.id, back.active, back.change) == (first.id, True, 4)
    assert await hashlist.do_withdraw(ANALYST, 999) is None
    subjects = [(e.action, e.subject) for e in await AuditLog(db).get_entries()]
    assert subjects == [("hash_publish", "image:1"), ("hash_publish", "image:1"), ("hash_withdraw", "image:1"),
                        ("hash_publish", "image:1")]


async def test_bad_input_is_refused_and_nothing_changes(db) -> None:
    hashlist = HashList(db)
    await hashlist.do_publish(ANALYST, 1, "C", hashes_for(1))
    with pytest.raises(Invalid) as bad_category:
        await hashlist.do_publish(ANALYST, 2, "D", hashes_for(2))
    assert bad_category.value.code == "bad_category"
    good = hashes_for(2)
    broken = ImageHashes("xyz", good.sha1, good.sha256, good.pdq)
    with pytest.raises(Invalid) as bad_hash:
        await hashlist.do_publish(ANALYST, 2, "A", broken)
    assert bad_hash.value.code == "bad_hash"
    with pytest.raises(Conflict):
        await hashlist.do_publish(ANALYST, 1, "C", hashes_for(5))
    assert await hashlist.get_last_change() == 1
    # Upper-case hex is accepted and stored lower-case.
    three = hashes_for(3)
    upper = ImageHashes(three.md5.upper(), three.sha1.upper(), three.sha256.upper(), three.pdq.upper())
    entry = await hashlist.do_publish(ANALYST, 3, "A", upper)
    assert entry.md5 == hashes_for(3).md5


async def test_a_partner_that_keeps_pulling_stays_exactly_in_sync(db) -> None:
    hashlist = HashList(db)
    partner = Partner(hashlist, page=4)
    rng = random.Random(9)
    for step in range(120):
        image = rng.randrange(1, 25)
        roll = rng.random()
        if roll < 0.55:
            await hashlist.do_publish(ANALYST, image, rng.choice("ABC"), hashes_for(image))
        else:
            await hashlist.do_withdraw(ANALYST, image, rng.choice(["withdrawn", "removed"]))
        if step % 9 == 0:
            await partner.pull()
            assert partner.held == await active_entries(hashlist)
    await partner.pull()
    assert partner.held == await active_entries(hashlist)
    # Changes arrive in order with no repeats: each number at most once, always increasing.
    assert partner.seen_changes == sorted(set(partner.seen_changes))


async def test_pages_have_no_gaps_or_repeats(db) -> None:
    hashlist = HashList(db)
    for image in range(1, 12):
        await hashlist.do_publish(ANALYST, image, "A", hashes_for(image))
    await hashlist.do_withdraw(ANALYST, 4, "removed")
    pages, cursor = [], 0
    while True:
        page = await hashlist.get_changes(cursor, 3)
        pages.append([entry.change for entry in page.entries])
        cursor = page.cursor
        if not page.more:
            break
    flat = [change for page in pages for change in page]
    # Entry 4 changed last, so it moved from change 4 to change 12 and appears once, as a tombstone.
    assert flat == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    tombstone = (await hashlist.get_changes(11, 10)).entries
    assert [(e.active, e.withdraw_reason) for e in tombstone] == [(False, "removed")]
    empty = await hashlist.get_changes(cursor, 3)
    assert (empty.entries, empty.cursor, empty.more) == ([], cursor, False)


async def test_concurrent_writers_and_a_puller_never_lose_a_change(database_url, db) -> None:
    """Two writers (as two processes) and a partner pulling all the time; the partner ends exactly in sync."""
    other = Database(make_engine(database_url))
    lists = [HashList(db), HashList(other)]
    partner = Partner(HashList(db), page=5)
    done = asyncio.Event()

    async def write(which: int) -> None:
        rng = random.Random(which)
        for _ in range(25):
            image = rng.randrange(1, 15)
            if rng.random() < 0.6:
                await lists[which].do_publish(ANALYST, image, rng.choice("ABC"), hashes_for(image))
            else:
                await lists[which].do_withdraw(ANALYST, image)

    async def pull() -> None:
        while not done.is_set():
            await partner.pull()
            await asyncio.sleep(0)

    puller = asyncio.create_task(pull())
    try:
        await asyncio.gather(write(0), write(1))
    finally:
        done.set()
        await puller
        await other.dispose()
    await partner.pull()
    assert partner.held == await active_entries(HashList(db))
    assert partner.seen_changes == sorted(set(partner.seen_changes))
    assert (await AuditLog(db).verify_chain()).ok


async def test_lookups_by_hash_see_only_active_entries(db) -> None:
    hashlist = HashList(db)
    await hashlist.do_publish(ANALYST, 1, "A", hashes_for(1))
    await hashlist.do_publish(ANALYST, 2, "B", hashes_for(2))
    assert [e.report_image_id for e in await hashlist.get_by_hash("sha256", hashes_for(2).sha256)] == [2]
    assert [e.report_image_id for e in await hashlist.get_by_pdqs([hashes_for(1).pdq, hashes_for(2).pdq])] == [1, 2]
    await hashlist.do_withdraw(ANALYST, 2)
    assert await hashlist.get_by_hash("sha256", hashes_for(2).sha256) == []
    assert [e.report_image_id for e in await hashlist.get_by_pdqs([hashes_for(2).pdq, hashes_for(1).pdq])] == [1]
