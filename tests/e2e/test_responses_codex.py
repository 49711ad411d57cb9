"""Codex CLI, headless (``codex exec``), against any2api on the simulator: a custom ``model_providers`` entry with
``wire_api = "responses"``; the model runs a shell command (Codex's ``exec_command`` tool) in a first turn and
finishes in a second, on a DeepSeek-thinking upstream and on an Anthropic upstream.

Codex is pinned in tests/clients/codex/package.json; ``scripts/bootstrap`` (run by ``scripts/test``) installs it
(``npm install --no-package-lock --prefix tests/clients/codex``) when npm is there. Without it these tests are
skipped."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.responses_helpers import CONFIG, KEY
from tests.sim import Reasoning, RecordedRequest, Script, Text, ToolCall, openai_error

CODEX = Path(__file__).resolve().parents[1] / "clients" / "codex" / "node_modules" / ".bin" / "codex"
pytestmark = pytest.mark.skipif(
    not CODEX.exists(), reason="Codex CLI not installed (see tests/clients/codex)"
)

# Codex sends its hosted web_search tool by default: these upstreams leave hosted tools out
CODEX_CONFIG = CONFIG.replace(
    "    api_keys: [sk-ds]\n", "    api_keys: [sk-ds]\n    hosted_tools: drop\n"
).replace(
    "    api_keys: [sk-ant]\n    models: [sim-claude]\n",
    "    api_keys: [sk-ant]\n    models: [sim-claude]\n    hosted_tools: drop\n",
)


@pytest.fixture
def gw(start_gateway, sim):
    return start_gateway(CODEX_CONFIG.format(key=KEY, sim=sim.url))


def run_codex(gw, model: str, workdir: Path, home: Path, prompt: str) -> subprocess.CompletedProcess[str]:
    provider = {
        "name": "any2api",
        "base_url": f"{gw.url}/v1",
        "env_key": "ANY2API_KEY",
        "wire_api": "responses",
    }
    cmd = [str(CODEX), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "-C", str(workdir),
           "-c", 'model_provider="any2api"', "-c", 'model_reasoning_effort="medium"', "-m", model]  # fmt: skip
    for k, v in provider.items():
        cmd += ["-c", f"model_providers.any2api.{k}={json.dumps(v)}"]
    env = {**os.environ, "CODEX_HOME": str(home), "ANY2API_KEY": KEY, "NO_COLOR": "1"}
    return subprocess.run(
        [*cmd, prompt], env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


def _tool_turn_without_reasoning(rec: RecordedRequest) -> bool:
    msgs = rec.json.get("messages") if isinstance(rec.json, dict) else None
    return any(m.get("role") == "assistant" and m.get("tool_calls") and not m.get("reasoning_content")
               for m in msgs or ())  # fmt: skip


@pytest.mark.parametrize("up", ["ds", "ant"])
def test_codex_runs_a_command_and_finishes(gw, sim, tmp_path, up):
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    cmd = json.dumps({"cmd": "echo any2api-ok > proof.txt"})
    call = ToolCall("exec_command", cmd, id="call_codex_1" if up == "ds" else "toolu_codex_1")
    signature = "sig-codex" if up == "ant" else None
    if up == "ds":  # DeepSeek thinking mode refuses a tool turn without its reasoning
        sim.enqueue(openai_error(400, "Missing reasoning_content", "invalid_request_error"),
                    match=_tool_turn_without_reasoning)  # fmt: skip
    sim.enqueue(Script([Reasoning("I will write the proof file.", signature=signature), call]))
    sim.enqueue(
        Script([Reasoning("The file is written.", signature=signature), Text("Done: proof.txt written.")])
    )
    model = "ds/deepseek-reasoner" if up == "ds" else "ant/sim-claude"
    p = run_codex(gw, model, work, home, "Create proof.txt containing any2api-ok using the shell.")
    assert p.returncode == 0, p.stderr[-3000:]
    assert (work / "proof.txt").read_text().strip() == "any2api-ok"
    assert "Done: proof.txt written." in p.stdout
    chat = [r for r in sim.requests if r.dialect is not None]
    assert len(chat) == 2, [r.path for r in sim.requests]
    second = chat[1].json
    if up == "ds":
        assistant = [m for m in second["messages"] if m["role"] == "assistant"]
        assert assistant[-1]["reasoning_content"] == "I will write the proof file."
        assert assistant[-1]["tool_calls"][0]["function"]["name"] == "exec_command"
        tool = [m for m in second["messages"] if m["role"] == "tool"]
        assert tool
        assert tool[-1]["tool_call_id"] == "call_codex_1"
    else:
        assistant = [m for m in second["messages"] if m["role"] == "assistant"][-1]["content"]
        assert assistant[0] == {
            "type": "thinking",
            "thinking": "I will write the proof file.",
            "signature": "sig-codex",
        }
        assert assistant[1]["type"] == "tool_use"
        assert assistant[1]["name"] == "exec_command"
    sim.clear()  # the refusal script was not needed
