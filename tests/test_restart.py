"""A real server process killed with SIGKILL and restarted resumes every conversation where it was."""

from __future__ import annotations

import uuid

import pytest

from tests.harness import sign_in, sign_up_child

pytestmark = pytest.mark.slow


async def test_sigkill_and_restart_loses_no_acknowledged_message(live_server, tmp_path) -> None:
    server = live_server(data_dir=tmp_path / "crash")
    kid = await sign_up_child(server.base_url, password="long enough pw")
    try:
        client = await kid.connect("/chat", record=False)
        opened = await client.call("hello", {"after": 0}, namespace="/chat", timeout=10)
        acked = []
        for i in range(5):
            ack = await client.call("say", {"text": f"before the crash {i}", "client_id": f"c-{uuid.uuid4()}"},
                                    namespace="/chat", timeout=10)
            assert ack["ok"]
            acked.append(ack["seq"])
        ack = await client.call("choose", {"option": "report", "client_id": "c-report"}, namespace="/chat",
                                timeout=10)
        assert ack["ok"]
        await client.disconnect()
        server.kill()

        restarted = live_server(data_dir=tmp_path / "crash", port=server.port)
        await kid.close()
        kid = await sign_in(restarted.base_url, kid.username, "long enough pw", "child")
        client = await kid.connect("/chat", record=False)
        resumed = await client.call("hello", {"after": 0}, namespace="/chat", timeout=10)
        assert resumed["conversation"]["id"] == opened["conversation"]["id"]
        assert resumed["conversation"]["state"] == "report_age"
        texts = {m["seq"]: m["text"] for m in resumed["messages"]}
        for i, seq in enumerate(acked):
            assert texts[seq] == f"before the crash {i}"
        assert [m["seq"] for m in resumed["messages"]] == list(range(1, len(resumed["messages"]) + 1))
        # The conversation carries on from the same state.
        ack = await client.call("choose", {"option": "age_18_plus", "client_id": "c-age"}, namespace="/chat",
                                timeout=10)
        assert ack["ok"]
        again = await client.call("hello", {"after": ack["seq"]}, namespace="/chat", timeout=10)
        assert again["conversation"]["state"] == "adult_signpost"
    finally:
        await kid.close()
