"""A Responses client over ``http`` spec upstreams (the examples/ specs, on their endpoint simulators): text and
reasoning, an emulated tool call and its result, and a document as ``<ATTACHMENT_FILE>`` text."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import pytest

from tests.e2e.responses_helpers import KEY, post
from tests.gateway_harness import ThreadGateway
from tests.providers.http_fixtures import EXAMPLE_ENV, EXAMPLES, provider_block
from tests.providers.http_sims import HttpSims, Reply

MODELS = {"custom-sse": "sc-large", "plain-json": "plainbot-1"}
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}  # fmt: skip


@pytest.fixture(scope="module")
def sims() -> Iterator[HttpSims]:
    s = HttpSims().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def gateway(sims: HttpSims, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadGateway]:
    env = {v: sims.url for v in EXAMPLE_ENV.values()}
    env["PLAINBOT_KEY"] = "plain-secret"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    blocks = [provider_block((EXAMPLES / name / "provider.yaml").read_text()) for name in MODELS]
    config = "providers:\n" + "".join(b.split("\n", 1)[1] for b in blocks) + f"auth:\n  keys: [{KEY}]\n"
    try:
        gw = ThreadGateway(config, data_dir=str(tmp_path_factory.mktemp("resp-http"))).start()
        yield gw
        gw.stop()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def up(sims: HttpSims) -> Iterator[HttpSims]:
    sims.replies.clear()
    sims.requests.clear()
    return sims


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("example", sorted(MODELS))
def test_text(gateway, up, example, stream):
    up.script(Reply(text="The answer is 42.", reasoning="Let me think.", chunk=4))
    status, out = post(gateway, {"model": MODELS[example], "input": "What is the answer?", "stream": stream})
    assert status == 200, out
    resp = out[-1]["response"] if stream else out
    kinds = [it["type"] for it in resp["output"]]
    assert kinds[-1] == "message"
    assert resp["output"][-1]["content"][0]["text"] == "The answer is 42."
    if "reasoning" in kinds:
        assert resp["output"][0]["summary"][0]["text"] == "Let me think."


@pytest.mark.parametrize("example", sorted(MODELS))
def test_emulated_tool_call_and_result(gateway, up, example):
    up.script(
        Reply(
            text='<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', chunk=5
        )
    )
    status, out = post(
        gateway, {"model": MODELS[example], "input": "Weather?", "tools": [WEATHER], "stream": True}
    )
    assert status == 200
    call = next(it for it in out[-1]["response"]["output"] if it["type"] == "function_call")
    assert call["name"] == "get_weather"
    assert call["arguments"].replace(" ", "") == '{"city":"Paris"}'
    up.script(Reply(text="Sunny in Paris."))
    hist = [{"role": "user", "content": "Weather?"}, call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny, 21C"}]  # fmt: skip
    status, obj = post(gateway, {"model": MODELS[example], "input": hist, "tools": [WEATHER]})
    assert status == 200
    assert obj["output"][-1]["content"][0]["text"] == "Sunny in Paris."
    assert "sunny, 21C" in str(up.requests[-1].json)


def test_input_file_becomes_attachment_text(gateway, up):
    up.script(Reply(text="Read it."))
    data = base64.b64encode(b"# Notes\nremember the milk\n").decode()
    content = [{"type": "input_text", "text": "Summarize"},
               {"type": "input_file", "filename": "notes.md", "file_data": f"data:text/markdown;base64,{data}"}]  # fmt: skip
    status, _ = post(
        gateway, {"model": MODELS["plain-json"], "input": [{"role": "user", "content": content}]}
    )
    assert status == 200
    sent = str(up.requests[-1].json)
    assert "<ATTACHMENT_FILE>" in sent
    assert "<FILE_NAME>notes.md</FILE_NAME>" in sent
    assert "remember the milk" in sent
