"""Stored responses (``store: true``, the default): retrieve, input items, delete, ``previous_response_id`` and
``item_reference``, only for the key that made them; ``POST /v1/responses/input_tokens``."""

from __future__ import annotations

import json

import openai
import pytest

from tests.e2e.responses_helpers import CONFIG, KEY, MODELS, client, post
from tests.rawhttp import request
from tests.schemas.responses_schema import check
from tests.sim import Reasoning, Script, Text, ToolCall, Usage

OTHER = "sk-other-client"
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


@pytest.fixture
def gw(start_gateway, sim):
    return start_gateway(CONFIG.format(key=f"{KEY}, {OTHER}", sim=sim.url))


def test_retrieve_list_items_and_delete(gw, sim):
    sim.enqueue(Script([Text("stored answer")]))
    c = client(gw)
    r = c.responses.create(model=MODELS["oai"], input="remember me", metadata={"k": "v"})
    assert r.id.startswith("resp_")
    assert r.store is True
    got = c.responses.retrieve(r.id)
    assert got.output_text == "stored answer"
    assert got.id == r.id
    check("Response", got.model_dump(mode="json", exclude_unset=True))
    items = c.responses.input_items.list(r.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == "remember me"
    raw = request(
        "GET", f"{gw.url}/v1/responses/{r.id}/input_items", headers={"Authorization": f"Bearer {KEY}"}
    )
    check("ResponseItemList", raw.json())
    # another key does not see it
    other = openai.OpenAI(base_url=gw.url + "/v1", api_key=OTHER, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(r.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(r.id)
    c.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError) as e:
        c.responses.retrieve(r.id)
    check("ErrorResponse", e.value.body if "error" in e.value.body else {"error": e.value.body})


def test_store_false_is_not_kept(gw, sim):
    sim.enqueue(Script([Text("not stored")]))
    c = client(gw)
    r = c.responses.create(model=MODELS["oai"], input="x", store=False)
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(r.id)


@pytest.mark.parametrize("stream", [False, True])
def test_previous_response_id_continues_a_deepseek_tool_turn(gw, sim, stream):
    sim.enqueue(Script([Reasoning("I need the weather."), ToolCall("get_weather", "{}", id="call_1")]))
    status, out = post(gw, {"model": MODELS["ds"], "input": "Weather?", "tools": [WEATHER], "stream": stream})
    first = out[-1]["response"] if stream else out
    assert first["id"].startswith("resp_a2a")
    assert "encrypted_content" not in first["output"][0]
    sim.enqueue(Script([Text("Sunny.")]))
    status, out = post(gw, {"model": MODELS["ds"], "previous_response_id": first["id"], "tools": [WEATHER],
                            "input": [{"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]})  # fmt: skip
    assert status == 200
    assert out["previous_response_id"] == first["id"]
    msgs = sim.last.json["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool"]
    assert msgs[1]["reasoning_content"] == "I need the weather."
    assert msgs[1]["tool_calls"][0]["id"] == "call_1"
    # a third turn chains through both
    sim.enqueue(Script([Text("Bye.")]))
    status, _ = post(gw, {"model": MODELS["ant"], "previous_response_id": out["id"], "input": "thanks"})
    assert status == 200
    assert [m["role"] for m in sim.last.json["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]


def test_previous_response_id_unknown_or_of_another_key(gw, sim):
    status, err = post(gw, {"model": MODELS["oai"], "previous_response_id": "resp_a2a0000", "input": "x"})
    assert status == 404
    assert err["error"]["param"] == "previous_response_id"
    status, err = post(
        gw, {"model": MODELS["oai"], "previous_response_id": "resp_upstream_only", "input": "x"}
    )
    assert status == 404
    sim.enqueue(Script([Text("mine")]))
    status, mine = post(gw, {"model": MODELS["oai"], "input": "x"})
    r = request("POST", gw.url + "/v1/responses", {"model": MODELS["oai"], "previous_response_id": mine["id"],
                                                   "input": "y"}, {"Authorization": f"Bearer {OTHER}"})  # fmt: skip
    assert r.status == 404


def test_continuation_through_a_responses_upstream_is_translated(gw, sim):
    sim.enqueue(Script([Text("first")]))
    status, first = post(gw, {"model": MODELS["resp"], "input": "one"})
    # passed through: the upstream's own id, not stored here
    assert first["id"].startswith("resp_sim")
    sim.enqueue(Script([Text("second")]))
    status, second = post(gw, {"model": MODELS["respx"], "input": "two"})
    assert second["id"].startswith("resp_a2a")
    sim.enqueue(Script([Text("third")]))
    status, _ = post(gw, {"model": MODELS["resp"], "previous_response_id": second["id"], "input": "three"})
    assert status == 200
    sent = sim.last.json
    assert "previous_response_id" not in sent
    assert [it.get("role") for it in sent["input"]] == ["user", "assistant", "user"]
    # an upstream's own id goes to that upstream
    sim.enqueue(Script([Text("fourth")]))
    status, _ = post(gw, {"model": MODELS["resp"], "previous_response_id": first["id"], "input": "four"})
    assert status == 200
    assert sim.last.json["previous_response_id"] == first["id"]


def test_item_reference(gw, sim):
    sim.enqueue(Script([Text("answer one")]))
    status, first = post(gw, {"model": MODELS["oai"], "input": "q1"})
    msg_id = first["output"][0]["id"]
    sim.enqueue(Script([Text("answer two")]))
    status, _ = post(gw, {"model": MODELS["oai"], "input": [{"role": "user", "content": "q1"},
                                                            {"type": "item_reference", "id": msg_id},
                                                            {"role": "user", "content": "q2"}]})  # fmt: skip
    assert status == 200
    assert sim.last.json["messages"][1] == {"role": "assistant", "content": "answer one"}
    status, err = post(gw, {"model": MODELS["oai"], "input": [{"type": "item_reference", "id": "msg_nope"}]})
    assert status == 404
    assert err["error"]["param"] == "input[0].id"


def test_input_tokens(gw):
    r = request("POST", gw.url + "/v1/responses/input_tokens", {"model": MODELS["ds"], "input": "Hello there, how are you?",
                                                              "instructions": "Be brief."},
                {"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert r.status == 200
    body = r.json()
    check("TokenCountsResource", body)
    assert body["object"] == "response.input_tokens"
    assert 5 <= body["input_tokens"] <= 30
    r = request("POST", gw.url + "/v1/responses/input_tokens", {"model": "nope/x", "input": "x"},
                {"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert r.status == 404


def test_compact_by_summarising_then_continue(gw, sim):
    hist = [{"role": "user", "content": "Build a parser."},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "done"},
            {"role": "assistant", "content": "Parser built."}]  # fmt: skip
    sim.enqueue(Script([Text("We built a parser; tests pass.")], usage=Usage(40, 8)))
    r = request("POST", gw.url + "/v1/responses/compact", {"model": MODELS["ds"], "input": hist, "tools": [WEATHER]},
                {"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert r.status == 200, r.body
    obj = r.json()
    check("CompactResource", obj)
    assert obj["object"] == "response.compaction"
    assert obj["usage"]["input_tokens"] == 40
    assert [it["type"] for it in obj["output"]] == ["message", "compaction"]
    sent = sim.last.json
    assert sent["messages"][-1]["role"] == "user"
    assert "Summarize" in sent["messages"][-1]["content"]
    assert sent["tool_choice"] == "none"
    # the compacted history continues on any upstream
    for up in ("ant", "oai"):
        sim.enqueue(Script([Text("Next step.")]))
        status, _ = post(
            gw, {"model": MODELS[up], "input": [*obj["output"], {"role": "user", "content": "Go on."}]}
        )
        assert status == 200
        assert "We built a parser; tests pass." in json.dumps(sim.last.json)


def test_compact_passes_through_to_a_responses_upstream(gw, sim):
    upstream = {"id": "resp_x", "object": "response.compaction", "created_at": 1, "output": [
        {"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAAAB-openai"}],
        "usage": {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 2}}  # fmt: skip
    sim.enqueue(Script.reply(200, upstream), path="/v1/responses/compact")
    r = request("POST", gw.url + "/v1/responses/compact", {"model": MODELS["resp"], "input": "hi"},
                {"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert r.status == 200
    assert r.json() == upstream
    assert sim.last.path == "/v1/responses/compact"
    assert sim.last.json["model"] == "sim-gpt"
    # OpenAI's own compaction item goes back only to a Responses upstream
    status, err = post(
        gw, {"model": MODELS["oai"], "input": [*upstream["output"], {"role": "user", "content": "x"}]}
    )
    assert status == 400
    assert err["error"]["param"] == "input[0]"


def test_item_reference_of_a_stored_item_is_inlined_before_passing_through(gw, sim):
    sim.enqueue(Script([Text("answer one")]))
    status, first = post(gw, {"model": MODELS["oai"], "input": "q1"})
    msg_id = first["output"][0]["id"]
    sim.enqueue(Script([Text("answer two")]))
    # a Responses upstream does not know this gateway's item ids: the stored item goes in their place
    r = request("POST", gw.url + "/v1/responses", {"model": MODELS["resp"], "input": [
        {"type": "item_reference", "id": msg_id}, {"role": "user", "content": "q2"}]},
        {"Authorization": f"Bearer {KEY}", "x-any2api-responses-compact": "1"})  # fmt: skip
    assert r.status == 200, r.body
    assert sim.last.path == "/v1/responses"  # the gateway's own compact marker is not taken from a client
    sent = sim.last.json["input"]
    assert sent[0]["type"] == "message"
    assert sent[0]["id"] == msg_id
    assert sent[0]["content"][0]["text"] == "answer one"
    # an id this gateway does not hold is the upstream's to resolve
    sim.enqueue(Script([Text("answer three")]))
    status, _ = post(
        gw, {"model": MODELS["resp"], "input": [{"type": "item_reference", "id": "msg_upstream"}]}
    )
    assert status == 200
    assert sim.last.json["input"] == [{"type": "item_reference", "id": "msg_upstream"}]
