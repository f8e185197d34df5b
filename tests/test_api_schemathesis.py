"""Schemathesis against /api/v1/openapi.json on a running `run.py serve`: no server errors, and every
response (errors included) matches the document's status codes, content types and schemas."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bot.audit import Actor
from bot.db import Database, make_engine
from bot.hashlist import HashList, ImageHashes
from bot.images.hashing import Frame
from tests.harness import ROOT, LiveServer

EXAMPLES_PER_OPERATION = 40
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


async def _seed(database_url: str) -> None:
    """A few published entries and a tombstone, so pages, lookups and exports have rows to describe."""
    engine = make_engine(database_url)
    try:
        hashlist = HashList(Database(engine))
        for n in range(4):
            seed = f"schemathesis {n}".encode()
            await hashlist.do_publish(Actor(1, "analyst"), 900 + n, "ABC"[n % 3], ImageHashes(
                md5=hashlib.md5(seed).hexdigest(), sha1=hashlib.sha1(seed).hexdigest(),
                sha256=hashlib.sha256(seed).hexdigest(), pdq=hashlib.sha256(seed + b"pdq").hexdigest(),
                pdq_quality=80))
        await hashlist.do_withdraw(Actor(1, "analyst"), 903)
        # A video: file hashes and frames, no picture PDQ.
        seed = b"schemathesis video"
        frames = tuple(Frame(float(t), hashlib.sha256(seed + bytes([t])).hexdigest(), 90) for t in range(5))
        await hashlist.do_publish(Actor(1, "analyst"), 950, "A", ImageHashes(
            md5=hashlib.md5(seed).hexdigest(), sha1=hashlib.sha1(seed).hexdigest(),
            sha256=hashlib.sha256(seed).hexdigest(), pdq=None, media="video", frame_hashes=frames))
    finally:
        await engine.dispose()


def _partner_key(live: LiveServer) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-partner", "--name", "schemathesis"],
                          cwd=ROOT, env=live.env, check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def test_the_partner_api_holds_to_its_openapi_document(live_server: Callable[..., LiveServer]) -> None:
    live = live_server(env={"HAVEN_PARTNER_REQUESTS_PER_MINUTE": "100000"})
    asyncio.run(_seed(f"sqlite+aiosqlite:///{live.data_dir / 'haven.db'}"))
    key = _partner_key(live)
    schema = schemathesis.openapi.from_url(live.base_url + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/hashes", "/api/v1/lookup", "/api/v1/feedback",
                                              "/api/v1/export.csv", "/api/v1/export.json"}
    calls: dict[str, int] = {}
    failures: list[str] = []
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            calls[label] = calls.get(label, 0) + 1
            try:
                case.call_and_validate(base_url=live.base_url, headers={"Authorization": f"Bearer {key}"},
                                       checks=CHECKS)
            except AssertionError as exc:  # schemathesis' failures are AssertionErrors with a report
                failures.append(f"{label}: {str(exc)[:600]}")
                raise

        try:
            run()
        except AssertionError:
            continue
    assert not failures, "\n\n".join(failures)
    assert all(calls.get(f"{op.method.upper()} {op.path}", 0) >= 5 for op in operations), calls


def test_without_a_key_every_operation_is_refused_with_the_documented_error(
        live_server: Callable[..., LiveServer]) -> None:
    import json
    import urllib.error
    import urllib.request

    live = live_server()
    for method, path, body in (("GET", "/api/v1/hashes", None), ("POST", "/api/v1/lookup", b'{"md5": "00"}'),
                               ("POST", "/api/v1/feedback", b"{}"), ("GET", "/api/v1/export.csv", None),
                               ("GET", "/api/v1/export.json", None)):
        request = urllib.request.Request(live.base_url + path, data=body, method=method,
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 401, path
        assert json.loads(caught.value.read())["error"]["code"] == "api_key_missing", path
        assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


