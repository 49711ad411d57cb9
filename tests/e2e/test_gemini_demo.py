"""``any2api serve --demo`` answers Gemini model names: google-genai and (when installed) the Gemini CLI work
offline against the demo provider, whose config names no ``gemini-*`` model (see routing/gemini_aliases)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from google import genai
from google.genai import types

from any2api.demo import DEMO_KEY, DEMO_YAML

from .test_gemini_cli import CLI

DEMO_ANSWER = "Hello from the any2api demo model demo-chat. You said: "


@pytest.fixture
def gw(start_gateway, monkeypatch):
    monkeypatch.delenv("ANY2API_KEY", raising=False)
    return start_gateway(DEMO_YAML)


def test_google_genai_on_the_demo(gw) -> None:
    c = genai.Client(api_key=DEMO_KEY, http_options=types.HttpOptions(base_url=gw.url))
    r = c.models.generate_content(model="gemini-2.5-flash", contents="hi there")
    assert r.text == DEMO_ANSWER + "hi there"
    text = "".join(ch.text or "" for ch in c.models.generate_content_stream(model="gemini-3-pro-preview",
                                                                            contents="streamed"))  # fmt: skip
    assert text == DEMO_ANSWER + "streamed"
    n = c.models.count_tokens(model="gemini-2.5-flash-lite", contents="count these").total_tokens
    assert isinstance(n, int)
    assert n > 0
    # the names the demo does configure still route as configured
    assert c.models.generate_content(model="gpt-4o", contents="x").text == DEMO_ANSWER + "x"


@pytest.mark.skipif(not CLI.exists(), reason="Gemini CLI not installed (scripts/bootstrap installs it)")
@pytest.mark.timeout(300)  # a cold start of the CLI (node, its bundle) is slow on a busy machine
def test_gemini_cli_on_the_demo(gw, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".gemini").mkdir(parents=True)
    work.mkdir()
    settings = {"security": {"auth": {"selectedType": "gemini-api-key"}}, "general": {"disableAutoUpdate": True},
                "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False}}  # fmt: skip
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    env = {**os.environ, "HOME": str(home), "GEMINI_API_KEY": DEMO_KEY, "GOOGLE_GEMINI_BASE_URL": gw.url,
           "GEMINI_CLI_TRUST_WORKSPACE": "true", "NO_COLOR": "1", "CI": "1"}  # fmt: skip
    p = subprocess.run([str(CLI), "-p", "good morning", "--output-format", "json"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=180)  # fmt: skip
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    out = json.loads(p.stdout[p.stdout.index("{") :])
    assert DEMO_ANSWER in out["response"]
    assert "good morning" in out["response"]
