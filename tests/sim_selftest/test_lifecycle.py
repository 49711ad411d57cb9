"""Starting and stopping a simulator of one's own (the pytest fixture shares one per session)."""

from __future__ import annotations

import threading

from tests.sim import Hang, Script, SimServer, Text
from tests.sim_selftest.raw_http import RawResponse, request

BODY = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}


def test_own_server_with_custom_paths_and_stop_releasing_a_hang() -> None:
    result: list[RawResponse] = []
    with SimServer(paths={"/api/ai": "openai"}, reasoning_field="reasoning", models=("a", "b")) as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        assert sim.port > 0
        r = request(sim.url, "GET", "/v1/models")
        assert b'"id":"a"' in r.body
        assert b'"id":"b"' in r.body
        sim.enqueue(Script([Text("a"), Hang()]))
        t = threading.Thread(target=lambda: result.append(request(sim.url, "POST", "/api/ai", BODY)))
        t.start()
        rec = sim.wait_for(1 + 1)[-1]
        assert rec.path == "/api/ai"
        assert rec.dialect == "openai"
    t.join(5)
    assert not t.is_alive()
    assert rec.outcome == "hung"
    assert result
    assert not result[0].complete


def test_two_servers_do_not_share_state() -> None:
    with SimServer() as one, SimServer() as two:
        assert one.port != two.port
        one.enqueue(Script.text("from one"))
        r = request(two.url, "POST", "/v1/chat/completions", {**BODY, "stream": False})
        assert b"echo: x" in r.body
        assert one.pending == 1
        assert len(two.requests) == 1
        assert one.requests == []
