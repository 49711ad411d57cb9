"""Runtime providers through the admin API (``/admin/providers``), end to end: the real gateway on
loopback, the official openai SDK as client, the http-endpoint simulators and the OpenAI simulator as
upstreams, on SQLite and Postgres."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from tests.admin.harness import ADMIN_KEY, Admin
from tests.providers.http_sims import HttpSims, Reply
from tests.rawhttp import request
from tests.sim.script import Script, Text
from tests.sim.server import SimServer

KEY = "sk-client-runtime"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Start = Callable[[str], Any]


def config(store_url: str) -> str:
    # one config provider (keyless, unreachable) so name clashes and the config/runtime split can be seen
    return (
        f'database_url: "{store_url}"\nadmin:\n  key: {ADMIN_KEY}\nauth:\n  keys: [{KEY}]\n'
        "providers:\n  - {name: fixed, type: openai, base_url: 'http://127.0.0.1:9', models: [fixed-1]}\n"
    )


def plain_block(url: str, name: str = "plainbot") -> dict[str, Any]:
    """The plain-json example as an admin API body, pointed at the simulator, with a literal api key."""
    block = yaml.safe_load((EXAMPLES / "plain-json" / "provider.yaml").read_text())
    block.update(name=name, base_url=url, api_keys=["plain-secret"])
    return block  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def http_up() -> Iterator[HttpSims]:
    s = HttpSims().start()
    yield s
    s.stop()


@pytest.fixture
def up(http_up: HttpSims) -> Iterator[HttpSims]:
    http_up.replies.clear()
    http_up.requests.clear()
    yield http_up
    http_up.replies.clear()


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)


def ask(url: str, model: str, stream: bool) -> str:
    c = client(url)
    msgs: Any = [{"role": "user", "content": "What is the answer?"}]
    if not stream:
        return c.chat.completions.create(model=model, messages=msgs).choices[0].message.content or ""
    out = ""
    for chunk in c.chat.completions.create(model=model, messages=msgs, stream=True):
        for ch in chunk.choices:
            out += ch.delta.content or ""
    return out


def model_ids(url: str) -> set[str]:
    return {m.id for m in client(url).models.list().data}


def test_http_provider_added_used_replaced_and_deleted_at_runtime(
    start_gateway: Start, up: HttpSims, store_url: str, data_dir: Path
) -> None:
    gw = start_gateway(config(store_url))
    admin = Admin(gw.url).login()
    assert "plainbot-1" not in model_ids(gw.url)

    created = admin.ok("POST", "/providers", plain_block(up.url))["provider"]
    assert created["name"] == "plainbot"
    assert created["source"] == "runtime"
    assert created["models"] == ["plainbot-1"]
    assert "plain-secret" not in json.dumps(created)
    assert created["spec"]["api_keys"] == ["************"]

    listed = {p["name"]: p for p in admin.ok("GET", "/providers")["providers"]}
    assert listed["fixed"]["source"] == "config"
    assert listed["plainbot"]["source"] == "runtime"
    assert "plain-secret" not in json.dumps(listed)
    assert {"plainbot-1", "plainbot/plainbot-1"} <= model_ids(gw.url)

    # the api key became an account of the provider
    acc = admin.account_by_label("plainbot key 1")
    assert acc["provider"] == "plainbot"
    assert acc["api_key"] == "************"

    for stream in (False, True):
        up.script(Reply(text="The answer is 42.", reasoning="Thinking."))
        assert ask(gw.url, "plainbot-1", stream) == "The answer is 42."
        rec = up.requests[-1]
        assert rec.path == "/v1/generate"
        assert rec.json["prompt"] == "What is the answer?"
        assert rec.headers["X-Api-Key"] == "plain-secret"
    up.script(Reply(text="by prefix"))
    assert ask(gw.url, "plainbot/plainbot-1", False) == "by prefix"

    # replace: a new model id and a header; the same key keeps its account
    block = plain_block(up.url) | {"models": ["plainbot-2"], "headers": {"X-Trace": "t-1"}}
    admin.ok("PUT", "/providers/plainbot", block)
    ids = model_ids(gw.url)
    assert "plainbot-2" in ids
    assert "plainbot-1" not in ids
    assert admin.account_by_label("plainbot key 1")["id"] == acc["id"]
    up.script(Reply(text="replaced"))
    assert ask(gw.url, "plainbot-2", False) == "replaced"
    assert up.requests[-1].headers["X-Trace"] == "t-1"

    # delete: the model is gone (404 model_not_found), and so are its accounts
    assert admin.ok("DELETE", "/providers/plainbot")["deleted"] is True
    with pytest.raises(openai.NotFoundError) as e:
        ask(gw.url, "plainbot-2", False)
    assert e.value.status_code == 404
    assert e.value.code == "model_not_found"
    assert "plainbot-2" not in model_ids(gw.url)
    assert all(a["provider"] != "plainbot" for a in admin.ok("GET", "/accounts")["accounts"])
    assert admin.call("DELETE", "/providers/plainbot").status == 404


def test_invalid_blocks_are_400_naming_the_field(
    start_gateway: Start, up: HttpSims, store_url: str, data_dir: Path
) -> None:
    gw = start_gateway(config(store_url))
    admin = Admin(gw.url).login()
    cases = [
        (
            plain_block(up.url) | {"response": {"format": "json", "text": "data[oops"}},
            "provider.response.text",
        ),
        (plain_block(up.url) | {"type": "carrier-pigeon"}, "provider.type"),
        ({k: v for k, v in plain_block(up.url).items() if k != "name"}, "provider.name"),
        (plain_block(up.url) | {"base_url": "ftp://x"}, "provider.base_url"),
        ({"name": "o", "type": "openai", "bogus": 1}, "provider.bogus"),
        ([1, 2], "provider"),
    ]
    for body, field in cases:
        r = admin.call("POST", "/providers", body)
        assert r.status == 400, (field, r.body)
        err = r.json()["error"]
        assert err["param"] == field, err
        assert err["message"].startswith(field + ": "), err
    r = admin.call("POST", "/providers", "{not json")
    assert r.status == 400
    assert r.json()["error"]["code"] == "invalid_json"
    # nothing was created
    assert [p["name"] for p in admin.ok("GET", "/providers")["providers"]] == ["fixed"]

    # a config provider's name is taken; config providers cannot be replaced or deleted
    r = admin.call("POST", "/providers", {"name": "fixed", "type": "openai", "base_url": up.url})
    assert r.status == 409
    assert "config file" in r.json()["error"]["message"]
    r = admin.call("DELETE", "/providers/fixed")
    assert r.status == 409
    assert "cannot be deleted" in r.json()["error"]["message"]
    r = admin.call("PUT", "/providers/fixed", {"type": "openai", "base_url": up.url})
    assert r.status == 409
    assert admin.call("PUT", "/providers/nope", plain_block(up.url, "nope")).status == 404
    admin.ok("POST", "/providers", plain_block(up.url))
    r = admin.call("POST", "/providers", plain_block(up.url))
    assert r.status == 409
    assert "PUT" in r.json()["error"]["message"]
    r = admin.call("PUT", "/providers/plainbot", plain_block(up.url, "renamed"))
    assert r.status == 400
    assert r.json()["error"]["param"] == "provider.name"


def test_admin_auth_is_required(start_gateway: Start, up: HttpSims, store_url: str, data_dir: Path) -> None:
    gw = start_gateway(config(store_url))
    for method, path, body in [
        ("GET", "/providers", None), ("POST", "/providers", plain_block(up.url)),
        ("PUT", "/providers/plainbot", plain_block(up.url)), ("DELETE", "/providers/plainbot", None),
        ("GET", "/providers/fixed", None),
    ]:  # fmt: skip
        r = request(method, gw.url + "/admin" + path, body)
        assert r.status == 401, (method, path, r.body)
        r = request(method, gw.url + "/admin" + path, body, {"Authorization": "Bearer wrong.jwt.token"})
        assert r.status == 401
    # a client key is not an admin key
    r = request("GET", gw.url + "/admin/providers", None, {"Authorization": f"Bearer {KEY}"})
    assert r.status == 401
    assert "plainbot-1" not in model_ids(gw.url)


def test_openai_runtime_provider_over_the_simulator(
    start_gateway: Start, sim: SimServer, store_url: str, data_dir: Path
) -> None:
    gw = start_gateway(config(store_url))
    admin = Admin(gw.url).login()
    sim.keys = {"sk-sim-runtime-key-1"}
    admin.ok("POST", "/providers", {"name": "simrt", "type": "openai", "base_url": sim.url + "/v1",
                                    "api_keys": ["sk-sim-runtime-key-1"], "models": ["sim-gpt"]})  # fmt: skip
    for stream in (False, True):
        sim.enqueue(Script([Text("Hello from the sim", split=4)]))
        assert ask(gw.url, "simrt/sim-gpt", stream) == "Hello from the sim"
    assert [q.api_key for q in sim.chat_requests] == ["sk-sim-runtime-key-1"] * 2
    # replacing the key: the old key's account goes, the new key's comes
    sim.keys = {"sk-sim-runtime-key-2"}
    admin.ok("PUT", "/providers/simrt", {"type": "openai", "base_url": sim.url + "/v1",
                                         "api_keys": ["sk-sim-runtime-key-2"], "models": ["sim-gpt"]})  # fmt: skip
    keys = [a["api_key"] for a in admin.ok("GET", "/accounts")["accounts"] if a["provider"] == "simrt"]
    assert keys == ["sk-...ey-2"]
    sim.enqueue(Script([Text("new key")]))
    assert ask(gw.url, "simrt/sim-gpt", False) == "new key"
    assert sim.chat_requests[-1].api_key == "sk-sim-runtime-key-2"
    # a keyless runtime provider is usable too (one keyless account, as for config providers)
    sim.keys = None
    admin.ok("POST", "/providers", {"name": "keyless", "type": "openai", "base_url": sim.url + "/v1",
                                    "models": ["sim-claude"]})  # fmt: skip
    sim.enqueue(Script([Text("no key needed")]))
    assert ask(gw.url, "sim-claude", False) == "no key needed"
    assert sim.chat_requests[-1].api_key is None


def test_runtime_provider_survives_a_restart_encrypted_at_rest(
    spawn_gateway: Callable[..., Any], up: HttpSims, store_url: str, data_dir: Path
) -> None:
    env = {"ANY2API_DATA_DIR": str(data_dir)}
    gw = spawn_gateway(config(store_url), env=env)
    admin = Admin(gw.url).login()
    admin.ok("POST", "/providers", plain_block(up.url))
    up.script(Reply(text="before"))
    assert ask(gw.url, "plainbot-1", False) == "before"
    gw.stop()
    if store_url.startswith("sqlite:///"):  # the secret never reaches the database file in the clear
        raw = Path(store_url.removeprefix("sqlite:///")).read_bytes()
        assert b"plain-secret" not in raw
        assert b"plainbot" in raw
    gw = spawn_gateway(config(store_url), env=env)
    admin = Admin(gw.url).login()
    assert [p["name"] for p in admin.ok("GET", "/providers")["providers"]] == ["fixed", "plainbot"]
    assert "plainbot-1" in model_ids(gw.url)
    up.script(Reply(text="after"))
    assert ask(gw.url, "plainbot-1", True) == "after"
    assert up.requests[-1].headers["X-Api-Key"] == "plain-secret"
    assert admin.account_by_label("plainbot key 1")["provider"] == "plainbot"


def test_other_instances_follow_over_redis(
    start_gateway: Start, up: HttpSims, pg_store_url: str, redis_url_or_skip: str, data_dir: Path,
    redis_cleanup: list[str],
) -> None:  # fmt: skip
    import time

    redis_cleanup.append(pg_store_url)
    text = config(pg_store_url) + f'redis_url: "{redis_url_or_skip}"\n'
    one, two = start_gateway(text), start_gateway(text)
    admin = Admin(one.url).login()

    def until(cond: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 15
        while not cond():
            assert time.monotonic() < deadline, "the other instance did not follow"
            time.sleep(0.05)

    admin.ok("POST", "/providers", plain_block(up.url))
    until(lambda: "plainbot-1" in model_ids(two.url))
    up.script(Reply(text="from two"))
    assert ask(two.url, "plainbot-1", True) == "from two"
    admin.ok("DELETE", "/providers/plainbot")
    until(lambda: "plainbot-1" not in model_ids(two.url))
    with pytest.raises(openai.NotFoundError):
        ask(two.url, "plainbot-1", False)
