"""The simulator's transport behaviours and scripting controls, seen byte by byte on a raw socket."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.sim import (
    Comment,
    Delay,
    Drop,
    Hang,
    Raw,
    RedactedReasoning,
    Refusal,
    Script,
    SimServer,
    StreamError,
    Text,
    ToolCall,
    openai_error,
)
from tests.sim_selftest.raw_http import RawResponse, request

OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"


def chat(text: str = "hello", stream: bool = True, **extra: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], "stream": stream, **extra}


def anthropic_chat(text: str = "hello", stream: bool = True) -> dict[str, object]:
    return {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": text}], "stream": stream}


def data_payloads(r: RawResponse) -> list[str]:
    return [ln[len("data: ") :] for ln in r.body.decode().split("\n") if ln.startswith("data: ")]


def test_every_sse_event_is_its_own_http_chunk(sim: SimServer) -> None:
    sim.enqueue(Script([Text(["a", "b"])]))
    r = request(sim.url, "POST", OPENAI, chat())
    assert r.complete
    assert r.headers["transfer-encoding"] == "chunked"
    assert len(r.chunks) == 5  # role, a, b, finish, [DONE]
    assert all(c.startswith(b"data: ") and c.endswith(b"\n\n") for c in r.chunks)
    assert r.chunks[-1] == b"data: [DONE]\n\n"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings(sim: SimServer, newline: str) -> None:
    sim.enqueue(Script([Text("x")], newline=newline))  # type: ignore[arg-type]
    r = request(sim.url, "POST", ANTHROPIC, anthropic_chat())
    other = "\n" if newline == "\r" else "\r"
    body = r.body.decode()
    assert body.count(newline + newline) == len(r.chunks)
    if newline == "\r\n":
        assert body.replace("\r\n", "").count("\n") == 0
        assert body.replace("\r\n", "").count("\r") == 0
    else:
        assert other not in body
    assert body.startswith("event: message_start" + newline + "data: {")


def test_no_space_after_colon(sim: SimServer) -> None:
    sim.enqueue(Script([Text("x")], space=False))
    r = request(sim.url, "POST", ANTHROPIC, anthropic_chat())
    lines = [ln for ln in r.body.decode().split("\n") if ln]
    assert lines
    assert all(ln.startswith(("event:", "data:")) for ln in lines)
    assert not any(ln.startswith(("event: ", "data: ")) for ln in lines)


def test_comments(sim: SimServer) -> None:
    sim.enqueue(Script([Comment("keep-alive"), Text("x"), Comment()]))
    r = request(sim.url, "POST", OPENAI, chat())
    assert r.chunks[1] == b": keep-alive\n\n"
    assert b":\n\n" in r.chunks


def test_write_size_cuts_every_write(sim: SimServer) -> None:
    sim.enqueue(Script([Text(["hello", "world"])]))
    whole = request(sim.url, "POST", OPENAI, chat())
    sim.enqueue(Script([Text(["hello", "world"])], write_size=7))
    cut = request(sim.url, "POST", OPENAI, chat())
    assert len(cut.chunks) > len(whole.chunks)
    assert all(len(c) <= 7 for c in cut.chunks)
    # the same events (ids differ per response)
    choices = [[json.loads(p)["choices"] for p in data_payloads(r)[:-1]] for r in (whole, cut)]
    assert choices[0] == choices[1]


def test_drop_after_n_events_leaves_the_chunked_body_unfinished(sim: SimServer) -> None:
    sim.enqueue(Script([Text(["a", "b", "c"])], drop_after=2))
    r = request(sim.url, "POST", OPENAI, chat())
    assert r.status == 200
    assert not r.complete
    assert len(r.chunks) == 2
    assert sim.last.wait() == "dropped"


def test_drop_step_in_a_non_streamed_answer_sends_half_the_body(sim: SimServer) -> None:
    sim.enqueue(Script([Text("a fairly long answer to cut in half"), Drop()]))
    r = request(sim.url, "POST", OPENAI, chat(stream=False))
    assert r.status == 200
    assert not r.complete
    assert 0 < len(r.body) < int(r.headers["content-length"])


def test_reset_drop(sim: SimServer) -> None:
    sim.enqueue(Script([Text("a"), Drop(reset=True)]))
    try:
        r = request(sim.url, "POST", OPENAI, chat())
    except ConnectionResetError:
        return  # the reset arrived before the headers were read: also an abrupt end
    assert not r.complete


def test_stream_error_ends_without_done(sim: SimServer) -> None:
    sim.enqueue(Script([Text("a"), StreamError("boom", "server_error")]))
    r = request(sim.url, "POST", OPENAI, chat())
    payloads = data_payloads(r)
    assert r.complete
    assert "[DONE]" not in payloads
    assert json.loads(payloads[-1]) == {
        "error": {"message": "boom", "type": "server_error", "param": None, "code": None}
    }


def test_anthropic_stream_error_event(sim: SimServer) -> None:
    sim.enqueue(Script([Text("a"), StreamError()]))
    r = request(sim.url, "POST", ANTHROPIC, anthropic_chat())
    last = r.chunks[-1].decode()
    assert last.startswith("event: error\ndata: ")
    assert json.loads(last.split("data: ", 1)[1]) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert b"message_stop" not in r.body


def test_delays_happen(sim: SimServer) -> None:
    sim.enqueue(Script([Text("a"), Delay(0.2), Text("b")], headers_delay=0.1, chunk_delay=0.01))
    t0 = time.monotonic()
    r = request(sim.url, "POST", OPENAI, chat())
    assert time.monotonic() - t0 >= 0.3
    assert r.complete


def test_delays_add_up_before_a_non_streamed_answer(sim: SimServer) -> None:
    sim.enqueue(Script([Delay(0.1), Text("a"), Delay(0.1)]))
    t0 = time.monotonic()
    r = request(sim.url, "POST", OPENAI, chat(stream=False))
    assert time.monotonic() - t0 >= 0.2
    assert json.loads(r.body)["choices"][0]["message"]["content"] == "a"


def test_clear_releases_a_hanging_request(sim: SimServer) -> None:
    sim.enqueue(Script([Text("a"), Hang()]))
    result: list[RawResponse] = []
    t = threading.Thread(target=lambda: result.append(request(sim.url, "POST", OPENAI, chat())))
    t.start()
    rec = sim.wait_for(1)[0]
    time.sleep(0.05)
    assert rec.outcome is None  # still hanging
    sim.clear()
    t.join(5)
    assert rec.wait() == "hung"
    assert result
    assert not result[0].complete


def test_hang_in_a_non_streamed_answer_sends_nothing(sim: SimServer) -> None:
    sim.enqueue(Script([Hang()]))
    with pytest.raises(TimeoutError):
        request(sim.url, "POST", OPENAI, chat(stream=False), timeout=0.3)
    assert sim.last.wait() == "client_disconnected"


def test_raw_body(sim: SimServer) -> None:
    sim.enqueue(
        Script.raw_body(b'{"answer": "one"}\n', b'{"answer": "two"}\n', content_type="application/x-ndjson")
    )
    r = request(sim.url, "POST", "/api/anything/chat/completions", chat())
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.chunks == [b'{"answer": "one"}\n', b'{"answer": "two"}\n']


def test_raw_step_inside_a_rendered_stream(sim: SimServer) -> None:
    sim.enqueue(Script([Text("a"), Raw(b"event: weird\ndata: {}\n\n"), Text("b")]))
    r = request(sim.url, "POST", OPENAI, chat())
    assert b"event: weird\ndata: {}\n\n" in r.chunks


def test_custom_path_speaks_openai(sim: SimServer) -> None:
    sim.add_path("/api/ai")
    r = request(sim.url, "POST", "/api/ai", chat("custom", stream=False))
    assert r.status == 200
    assert json.loads(r.body)["choices"][0]["message"]["content"] == "echo: custom"
    assert sim.last.dialect == "openai"


def test_any_prefix(sim: SimServer) -> None:
    r = request(sim.url, "POST", "/deepseek/beta/chat/completions", chat("p", stream=False))
    assert json.loads(r.body)["object"] == "chat.completion"
    r = request(sim.url, "POST", "/anthropic/v1/messages", anthropic_chat("p", stream=False))
    assert json.loads(r.body)["type"] == "message"


def test_named_script_wins_over_the_queue(sim: SimServer) -> None:
    sim.register("slow", Script.text("named answer"))
    sim.enqueue(Script.text("queued answer"))
    r = request(sim.url, "POST", OPENAI, chat("please [[sim:slow]] now", stream=False))
    assert json.loads(r.body)["choices"][0]["message"]["content"] == "named answer"
    assert sim.last.script is not None
    assert sim.last.script.name == "slow"
    assert sim.pending == 1
    r = request(sim.url, "POST", OPENAI, chat("no marker", stream=False))
    assert json.loads(r.body)["choices"][0]["message"]["content"] == "queued answer"


def test_marker_only_in_the_last_user_message(sim: SimServer) -> None:
    sim.register("x", Script.text("named"))
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "[[sim:x]]"}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second turn"}]},
        ],
    }
    r = request(sim.url, "POST", ANTHROPIC, body)
    assert json.loads(r.body)["content"][0]["text"] == "echo: second turn"


def test_unknown_marker_is_a_simulator_error(sim: SimServer) -> None:
    r = request(sim.url, "POST", OPENAI, chat("[[sim:nope]]"))
    assert r.status == 500
    assert any("[[sim:nope]]" in e for e in sim.errors)
    assert sim.last.outcome == "sim_error"
    sim.clear()


def test_script_a_dialect_cannot_express_is_a_simulator_error(sim: SimServer) -> None:
    sim.enqueue(
        Script([RedactedReasoning("x")]), Script([Refusal("no")]), Script([ToolCall("f", "not json")])
    )
    assert request(sim.url, "POST", OPENAI, chat()).status == 500
    assert request(sim.url, "POST", ANTHROPIC, anthropic_chat()).status == 500
    assert request(sim.url, "POST", ANTHROPIC, anthropic_chat(stream=False)).status == 500
    assert len(sim.errors) == 3
    sim.clear()


def test_queue_filters_by_key_path_and_predicate(sim: SimServer) -> None:
    sim.enqueue(openai_error(429, "slow down", "requests", "rate_limit_exceeded"), key="sk-a")
    sim.enqueue(Script.fail(500, {"error": "models down"}), path="/v1/models")
    sim.enqueue(Script.text("for gpt-x"), match=lambda r: r.model == "gpt-x")
    r = request(sim.url, "POST", OPENAI, chat(stream=False), {"Authorization": "Bearer sk-b"})
    assert json.loads(r.body)["choices"][0]["message"]["content"] == "echo: hello"
    r = request(sim.url, "POST", OPENAI, chat(stream=False), {"Authorization": "Bearer sk-a"})
    assert r.status == 429
    assert request(sim.url, "GET", "/v1/models").status == 500
    assert request(sim.url, "GET", "/v1/models").status == 200
    r = request(sim.url, "POST", OPENAI, {**chat(stream=False), "model": "gpt-x"})
    assert json.loads(r.body)["choices"][0]["message"]["content"] == "for gpt-x"
    assert sim.pending == 0


def test_default_script(sim: SimServer) -> None:
    sim.default = Script.fail(
        503, {"error": {"message": "down", "type": "server_error"}}, {"Retry-After": "2"}
    )
    for _ in range(2):
        r = request(sim.url, "POST", OPENAI, chat())
        assert r.status == 503
        assert r.headers["retry-after"] == "2"
        assert r.headers["content-type"] == "application/json"


def test_records_exact_bytes_headers_and_query(sim: SimServer) -> None:
    raw = b'{"model":"m",  "messages":[{"role":"user","content":"caf\xc3\xa9"}]}'
    request(sim.url, "POST", OPENAI + "?api-version=1", raw, {"X-Custom": "yes"})
    rec = sim.last
    assert rec.body == raw
    assert rec.json["messages"][0]["content"] == "café"
    assert rec.query == {"api-version": "1"}
    assert rec.headers["x-custom"] == "yes"
    assert rec.method == "POST"
    assert rec.path == OPENAI


def test_invalid_json_is_rejected_like_openai(sim: SimServer) -> None:
    r = request(sim.url, "POST", OPENAI, b"{not json")
    assert r.status == 400
    assert json.loads(r.body)["error"]["type"] == "invalid_request_error"


def test_unknown_path_is_404(sim: SimServer) -> None:
    r = request(sim.url, "POST", "/v1/nothing", chat())
    assert r.status == 404
    assert "Invalid URL" in json.loads(r.body)["error"]["message"]


def test_html_error_content_type_and_custom_headers(sim: SimServer) -> None:
    sim.enqueue(Script.fail(502, "<html><head><title>Bad</title></head></html>", {"Server": "nginx"}))
    r = request(sim.url, "POST", OPENAI, chat())
    assert r.status == 502
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.body == b"<html><head><title>Bad</title></head></html>"


def test_the_pytest_fixture_sees_a_fresh_simulator(sim: SimServer) -> None:
    assert sim.requests == []
    assert sim.pending == 0
    assert sim.errors == []
