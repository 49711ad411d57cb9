"""The CLI: `check` prints what is routable; a bad config gets a message, never a traceback."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "any2api", *args], capture_output=True, text=True, timeout=60,
                          env=env)  # fmt: skip


def test_check_prints_routes(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("auth: {keys: [k]}\nproviders:\n  - {name: ds, type: deepseek, api_keys: [x], models: [deepseek-chat]}\n"
                   "models:\n  gpt-4o: [ds/deepseek-chat]\n")  # fmt: skip
    r = run("check", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "gpt-4o" in r.stdout
    assert "ds/deepseek-chat" in r.stdout


def test_check_bad_config_names_key_and_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("providers:\n  - name: ds\n    type: deepsek\n")
    r = run("check", "--config", str(cfg))
    assert r.returncode == 2
    assert "providers[0].type" in r.stderr
    assert "line 3" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_check_missing_file(tmp_path):
    r = run("check", "--config", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2
    assert "cannot read" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_subprocess_answers(spawn_gateway):
    gw = spawn_gateway(
        "auth: {keys: [sk-p]}\nproviders:\n  - {name: demo, type: demo, models: [demo-chat]}\n"
    )
    from tests.rawhttp import request

    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": "demo-chat", "messages": [{"role": "user", "content": "yo"}]},
                {"Authorization": "Bearer sk-p"})  # fmt: skip
    assert r.status == 200
    assert "You said: yo" in r.json()["choices"][0]["message"]["content"]
