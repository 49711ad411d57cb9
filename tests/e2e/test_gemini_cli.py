"""Gemini CLI (``@google/gemini-cli``, pinned in tests/clients/package.json) headless through the gateway:
API-key auth, ``GOOGLE_GEMINI_BASE_URL`` pointing at any2api, ``-p`` with ``-m``, a tool-using task served by a
DeepSeek-style upstream (the simulator). ``scripts/bootstrap`` installs the CLI (npm); skipped when it is not
installed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.sim import Script, Text, ToolCall

CLI = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / ".bin" / "gemini"
KEY = "sk-gemini-cli"

pytestmark = pytest.mark.skipif(
    not CLI.exists(), reason="Gemini CLI not installed (scripts/bootstrap installs it; needs npm)"
)

CONFIG = """
auth: {{keys: [{key}]}}
providers:
  - name: ds
    type: deepseek
    base_url: {sim}
    api_keys: [dk]
models:
  gemini-2.5-flash: [ds/deepseek-chat]
  gemini-2.5-flash-lite: [ds/deepseek-chat]
  gemini-2.5-pro: [ds/deepseek-chat]
"""


def _with_tools(rec) -> bool:  # the agent's turns (side requests of the CLI carry no tools)
    return isinstance(rec.json, dict) and "tools" in rec.json


@pytest.mark.timeout(300)  # a cold start of the CLI (node, its bundle) is slow on a busy machine
def test_gemini_cli_completes_a_tool_task(start_gateway, sim, tmp_path: Path) -> None:
    gw = start_gateway(CONFIG.format(key=KEY, sim=sim.url))
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".gemini").mkdir(parents=True)
    work.mkdir()
    target = work / "hello.txt"
    settings = {"security": {"auth": {"selectedType": "gemini-api-key"}}, "general": {"disableAutoUpdate": True},
                "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False}}  # fmt: skip
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    args = json.dumps({"file_path": str(target), "content": "hello from any2api"})
    sim.enqueue(Script([ToolCall("write_file", args)]), match=_with_tools)
    sim.enqueue(Script([Text("I wrote the file.")]), match=_with_tools)
    env = {**os.environ, "HOME": str(home), "GEMINI_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": gw.url,
           "GEMINI_CLI_TRUST_WORKSPACE": "true", "NO_COLOR": "1", "CI": "1"}  # fmt: skip
    p = subprocess.run(
        [str(CLI), "-p", f"Create {target} containing 'hello from any2api'", "-m", "gemini-2.5-flash", "--yolo",
         "--output-format", "json"],
        cwd=work, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert target.read_text() == "hello from any2api"
    out = json.loads(p.stdout[p.stdout.index("{") :])
    assert "I wrote the file." in out["response"]
    turns = [r.json for r in sim.chat_requests if _with_tools(r)]
    assert len(turns) == 2
    tool_msgs = [m for m in turns[1]["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 1
    assert tool_msgs[0]["tool_call_id"]
