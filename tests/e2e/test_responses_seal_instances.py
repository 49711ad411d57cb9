"""The composition root installs the sealer from the store's master key: reasoning one gateway process sealed
into a Responses ``encrypted_content`` opens on another process that shares the data directory (its
``secret.key``) or ``ANY2API_SECRET_KEY``, and does not open on one with another key (dropped, never sent)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.responses_helpers import CONFIG, KEY, MODELS, post
from tests.sim import Reasoning, Script, Text, ToolCall

CODEX = {"store": False, "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "medium"}}


def _first_turn(gw, sim) -> list:
    """An Anthropic thinking + tool call turn on ``gw``; the history for the next turn."""
    sim.enqueue(Script([Reasoning("Let me think.", signature="sig-abc"),
                        ToolCall("get_weather", '{"city":"Oslo"}', id="toolu_1")]))  # fmt: skip
    status, res = post(gw, {"model": MODELS["ant"], "input": "Weather?", **CODEX})
    assert status == 200, res
    out = res["output"]
    assert out[0]["encrypted_content"].startswith("a2s1.")
    assert "sig-abc" not in json.dumps(out)
    return [{"role": "user", "content": "Weather?"}, *out,
            {"type": "function_call_output", "call_id": "toolu_1", "output": "sunny"}]  # fmt: skip


def _second_turn(gw, sim, hist: list) -> list:
    sim.enqueue(Script([Text("Sunny.")]))
    status, res = post(gw, {"model": MODELS["ant"], "input": hist, **CODEX})
    assert status == 200, res
    return sim.last.json["messages"][1]["content"]


@pytest.mark.parametrize("share", ["data_dir", "secret_key"])
def test_a_blob_sealed_by_one_instance_opens_on_another(spawn_gateway, sim, tmp_path, share):
    config = CONFIG.format(key=KEY, sim=sim.url)
    if share == "data_dir":  # one data directory: its secret.key, made by the first instance
        envs = [{"ANY2API_DATA_DIR": str(tmp_path / "data")}] * 2
    else:  # separate data directories (and databases), one key
        envs = [{"ANY2API_SECRET_KEY": "one deployment", "ANY2API_DATA_DIR": str(tmp_path / f"d{i}")}
                for i in range(2)]  # fmt: skip
    a = spawn_gateway(config, env=envs[0], name="a.yaml")
    hist = _first_turn(a, sim)
    b = spawn_gateway(config, env=envs[1], name="b.yaml")
    assistant = _second_turn(b, sim, hist)
    assert assistant[0] == {"type": "thinking", "thinking": "Let me think.", "signature": "sig-abc"}


def test_a_blob_does_not_open_under_another_key(spawn_gateway, sim, tmp_path):
    config = CONFIG.format(key=KEY, sim=sim.url)
    a = spawn_gateway(config, env={"ANY2API_SECRET_KEY": "deployment one"}, name="a.yaml")
    hist = _first_turn(a, sim)
    b = spawn_gateway(config, env={"ANY2API_SECRET_KEY": "deployment two"}, name="b.yaml")
    assistant = _second_turn(b, sim, hist)
    assert "sig-abc" not in json.dumps(assistant)
    assert all(blk["type"] != "thinking" for blk in assistant)
