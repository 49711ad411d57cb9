"""`any2api keys|accounts|db` as real subprocesses, then a gateway on the same store feels the effect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.admin.harness import Admin, chat, gateway_config
from tests.sim.server import SimServer


@pytest.fixture
def cli(tmp_path: Path, sim: SimServer, store_url: str, data_dir: Path) -> Callable[..., Any]:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(gateway_config(sim.url, store_url))

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ANY2API_DATA_DIR": str(data_dir)}
        r = subprocess.run([sys.executable, "-m", "any2api", *args, "--config", str(cfg)],
                           capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
        if ok:
            assert r.returncode == 0, r.stdout + r.stderr
        assert "Traceback" not in r.stderr, r.stderr
        return r

    run.config_path = cfg  # type: ignore[attr-defined]
    return run


def test_keys_create_list_revoke_then_a_gateway_honours_them(
    cli: Any, start_gateway: Callable[[str], Any], sim: SimServer
) -> None:
    made = json.loads(cli("keys", "create", "ci-key", "--model", "sim-gpt", "--rpm", "5", "--json").stdout)
    assert made["key"].startswith("sk-a2a-")
    assert made["name"] == "ci-key"
    listed = json.loads(cli("keys", "list", "--json").stdout)
    assert [k["id"] for k in listed] == [made["id"]]
    assert made["key"] not in json.dumps(listed)
    assert listed[0]["models"] == ["sim-gpt"]
    assert listed[0]["rpm"] == 5

    gw = start_gateway(cli.config_path.read_text())
    assert chat(gw.url, made["key"]).status == 200
    assert chat(gw.url, made["key"], "sim-claude").status == 403
    # without Redis a running gateway learns of CLI changes on its periodic refresh: make it short
    Admin(gw.url).login().ok("POST", "/config", {"pool": {"refresh_interval": 0.5}})
    assert "revoked" in cli("keys", "revoke", made["id"]).stdout
    for _ in range(100):
        if chat(gw.url, made["key"]).status == 401:
            break
        time.sleep(0.1)
    assert chat(gw.url, made["key"]).status == 401
    r = cli("keys", "revoke", "key_nope", ok=False)
    assert r.returncode == 1
    assert "no key" in r.stderr
    r = cli("keys", "create", "bad", "--rpm", "0", ok=False)
    assert r.returncode == 2
    assert "rpm" in r.stderr


def test_accounts_import_list_and_test(cli: Any, tmp_path: Path, sim: SimServer) -> None:
    f = tmp_path / "accounts.json"
    f.write_text(json.dumps({"accounts": [
        {"provider": "sim", "api_key": "sk-imported-1", "label": "i1", "weight": 2},
        {"provider": "sim", "api_key": "sk-imported-2", "label": "i2", "max_inflight": 1},
        {"provider": "sim", "api_key": "sk-up-1"},
    ]}))  # fmt: skip
    assert "2 added, 1 skipped" in cli("accounts", "import", str(f)).stdout
    listed = json.loads(cli("accounts", "list", "--json").stdout)
    assert {a["label"] for a in listed} == {"sim key 1", "i1", "i2"}
    assert "sk-imported" not in json.dumps(listed)

    sim.keys = {"sk-up-1", "sk-imported-1"}
    r = cli("accounts", "test", "--json", ok=False)
    assert r.returncode == 1  # one account failed
    results = {x["label"]: x for x in json.loads(r.stdout)}
    assert results["i1"]["ok"]
    assert results["sim key 1"]["ok"]
    assert not results["i2"]["ok"]
    assert results["i2"]["upstream_status"] == 401
    after = {a["label"]: a for a in json.loads(cli("accounts", "list", "--json").stdout)}
    assert after["i2"]["enabled"] is False
    assert "401" in after["i2"]["disabled_reason"]
    sim.keys = None
    assert json.loads(cli("accounts", "test", "i2", "--json").stdout)[0]["ok"] is True
    assert {a["label"]: a for a in json.loads(cli("accounts", "list", "--json").stdout)}["i2"][
        "enabled"
    ] is True

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"provider": "sim", "api_key": "x", "weight": 0}]))
    r = cli("accounts", "import", str(bad), ok=False)
    assert r.returncode == 1
    assert "accounts[0].weight" in r.stderr
    bad.write_text("{nope")
    assert cli("accounts", "import", str(bad), ok=False).returncode == 2


def test_db_upgrade_and_current(cli: Any) -> None:
    assert "at revision 0002" in cli("db", "upgrade").stdout
    assert "current: 0002  head: 0002" in cli("db", "current").stdout
