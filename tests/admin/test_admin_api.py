"""The admin API over HTTP against the real gateway (in-thread), then client requests that feel the effect.

Every test runs on SQLite and on Postgres (when ANY2API_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.admin.harness import ADMIN_KEY, Admin, chat, gateway_config
from tests.rawhttp import request
from tests.sim.script import Script, openai_error
from tests.sim.script import Usage as SimUsage
from tests.sim.server import SimServer

Start = Callable[[str], Any]


@pytest.fixture
def up(
    start_gateway: Start, sim: SimServer, store_url: str, data_dir: Path
) -> Callable[..., tuple[Any, Admin]]:
    def start(**kw: Any) -> tuple[Any, Admin]:
        gw = start_gateway(gateway_config(sim.url, store_url, **kw))
        return gw, Admin(gw.url).login()

    return start


def openai_client(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)


# -- login and admin auth -------------------------------------------------------------------------------


def test_login_issues_a_24h_jwt_and_guards_every_endpoint(up: Any) -> None:
    gw, admin = up()
    r = request("POST", gw.url + "/admin/login", {"key": ADMIN_KEY})
    body = r.json()
    assert r.status == 200
    assert body["success"] is True
    assert body["expires_in"] == 86400
    assert body["token"].count(".") == 2
    assert admin.ok("GET", "/config")["database"] in ("sqlite", "postgresql")
    for path in ("/config", "/queue/status", "/keys", "/usage", "/export", "/accounts"):
        r = Admin(gw.url).call("GET", path)
        assert r.status == 401, path
        assert r.json()["error"]["type"] == "authentication_error"
        assert Admin(gw.url).call("GET", path, token="not.a.jwt").status == 401
    # the admin key itself is accepted as a bearer too
    assert Admin(gw.url, ADMIN_KEY).call("GET", "/config").status == 200


def test_login_errors_and_failed_attempts_are_rate_limited(up: Any) -> None:
    gw, _ = up()
    url = gw.url + "/admin/login"
    r = request("POST", url, "{not json")
    assert r.status == 400
    assert r.json()["error"]["code"] == "invalid_json"
    r = request("POST", url, {"key": 123})
    assert r.status == 400
    assert r.json()["error"]["param"] == "key"
    r = request("POST", url, {"key": "x", "extra": 1})
    assert r.status == 400
    assert r.json()["error"]["param"] == "extra"
    for _ in range(5):
        r = request("POST", url, {"key": "wrong"})
        assert r.status == 401
    r = request("POST", url, {"key": ADMIN_KEY})  # even the right key waits now
    assert r.status == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["error"]["type"] == "rate_limit_error"


def test_schema_gives_the_json_schema_of_every_admin_input(up: Any) -> None:
    gw, admin = up()
    assert Admin(gw.url).call("GET", "/schema").status == 401
    schemas = admin.ok("GET", "/schema")["schemas"]
    assert {
        "account",
        "accounts_batch",
        "account_patch",
        "key",
        "config",
        "import",
        "login",
        "provider",
    } <= set(schemas)
    account = schemas["account"]
    assert account["required"] == ["provider"]
    assert account["additionalProperties"] is False
    assert account["properties"]["weight"]["anyOf"][0] == {"minimum": 1, "type": "integer"}
    key = schemas["key"]["properties"]
    assert {
        "name",
        "models",
        "rpm",
        "tpm",
        "token_budget",
        "expires_at",
        "expires_in_days",
        "is_admin",
    } <= set(key)
    pool = schemas["config"]["properties"]["pool"]
    assert pool["properties"]["strategy"]["enum"] == ["round_robin", "least_inflight", "weighted"]


def test_readyz_checks_the_store(up: Any) -> None:
    gw, _ = up()
    r = request("GET", gw.url + "/readyz")
    assert r.status == 200
    assert r.json()["checks"]["store"] == "ok"


def test_unknown_paths_and_methods_answer_json(up: Any) -> None:
    _, admin = up()
    r = admin.call("GET", "/nope")
    assert r.status == 404
    assert r.json()["error"]["code"] == "not_found"
    r = admin.call("DELETE", "/config")
    assert r.status == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["error"]["code"] == "method_not_allowed"


# -- accounts -------------------------------------------------------------------------------------------


def test_added_account_takes_over_when_the_config_key_is_rejected(up: Any, sim: SimServer) -> None:
    gw, admin = up(client_keys=("sk-client",))
    sim.keys = {"sk-up-good-credential"}
    r = admin.call(
        "POST",
        "/accounts",
        {"provider": "sim", "api_key": "sk-up-good-credential", "label": "good", "weight": 2},
    )
    assert r.status == 200, r.body
    acc = r.json()["account"]
    assert acc["api_key"] == "sk-...tial"
    assert "sk-up-good-credential" not in r.body.decode()
    assert (acc["weight"], acc["max_inflight"], acc["enabled"]) == (2, 2, True)

    for _ in range(3):
        reply = chat(gw.url, "sk-client")
        assert reply.status == 200, reply.body
    used = [q.api_key for q in sim.chat_requests]
    assert used[0] == "sk-up-1"
    assert set(used[1:]) == {"sk-up-good-credential"}
    bad = admin.account_by_label("sim key 1")
    st = admin.status_of(bad["id"])
    assert st["status"] == "disabled"
    assert "401" in st["disabled_reason"]
    assert admin.status_of(acc["id"])["last_used"] is not None

    dup = admin.call("POST", "/accounts", {"provider": "sim", "api_key": "sk-up-good-credential"})
    assert dup.status == 409
    assert dup.json()["error"]["code"] == "duplicate_account"
    for body, param in [
        ({"provider": "nope", "api_key": "k"}, "provider"),
        ({"provider": "sim", "api_key": "k", "weight": 0}, "weight"),
        ({"provider": "sim", "api_key": 5}, "api_key"),
        ({"email": "a@b", "password": "x"}, "email"),
    ]:
        r = admin.call("POST", "/accounts", body)
        assert r.status == 400, r.body
        assert r.json()["error"]["param"] == param, r.body
    config_text = json.dumps(admin.ok("GET", "/config"))
    assert "sk-up-good-credential" not in config_text
    assert "sk-up-1" not in config_text


def test_batch_import_is_all_or_nothing_on_bad_input_and_skips_duplicates(up: Any) -> None:
    _, admin = up()
    bad = admin.call("POST", "/accounts/batch", {"accounts": [{"provider": "sim", "api_key": "a"},
                                                              {"provider": "sim", "api_key": "b", "weight": "x"}]})  # fmt: skip
    assert bad.status == 400
    assert bad.json()["error"]["param"] == "accounts[1].weight"
    assert len(admin.ok("GET", "/accounts")["accounts"]) == 1
    res = admin.ok("POST", "/accounts/batch", {"accounts": [
        {"provider": "sim", "api_key": "sk-b1", "label": "b1"},
        {"provider": "sim", "api_key": "sk-b2", "label": "b2", "max_inflight": 7},
        {"provider": "sim", "api_key": "sk-up-1"},
    ]})  # fmt: skip
    assert res["added"] == 2
    assert [s["index"] for s in res["skipped"]] == [2]
    assert admin.account_by_label("b2")["max_inflight"] == 7
    assert admin.call("POST", "/accounts/batch", {"accounts": []}).status == 400


def test_disable_enable_delete_and_clear_cooldown(up: Any, sim: SimServer) -> None:
    gw, admin = up(client_keys=("sk-client",))
    one = admin.account_by_label("sim key 1")
    two = admin.ok("POST", "/accounts", {"provider": "sim", "api_key": "sk-up-2", "label": "two"})["account"]
    admin.ok("PATCH", f"/accounts/{one['id']}", {"enabled": False})
    for _ in range(3):
        assert chat(gw.url, "sk-client").status == 200
    assert {q.api_key for q in sim.chat_requests} == {"sk-up-2"}
    assert admin.status_of(one["id"])["status"] == "disabled"
    admin.ok("PATCH", f"/accounts/{one['id']}", {"enabled": True, "max_inflight": 4, "label": "one"})
    st = admin.status_of(one["id"])
    assert (st["status"], st["max_inflight"], st["label"]) == ("healthy", 4, "one")

    # an upstream 429 cools "two" down (visible), clearing it by hand brings it back at once
    sim.clear()
    sim.enqueue(
        openai_error(429, "Rate limit reached", "requests", headers={"Retry-After": "300"}), key="sk-up-2"
    )
    admin.ok("PATCH", f"/accounts/{one['id']}", {"enabled": False})
    r = chat(gw.url, "sk-client")
    assert r.status == 429
    assert int(r.headers["retry-after"]) >= 299
    st = admin.status_of(two["id"])
    assert st["status"] == "cooling_down"
    assert st["cooldown_until"]
    assert 0 < st["cooldown_remaining"] <= 300
    admin.ok("POST", f"/accounts/{two['id']}/clear-cooldown")
    assert admin.status_of(two["id"])["status"] == "healthy"
    assert chat(gw.url, "sk-client").status == 200

    admin.ok("DELETE", f"/accounts/{two['id']}")
    assert admin.call("DELETE", f"/accounts/{two['id']}").status == 404
    r = chat(gw.url, "sk-client")
    assert r.status == 503  # the only account left is disabled
    assert r.json()["error"]["message"]
    assert admin.call("PATCH", f"/accounts/{one['id']}", {"weight": -1}).json()["error"]["param"] == "weight"
    three = admin.ok("POST", "/accounts", {"provider": "sim", "api_key": "sk-up-3", "label": "three"})[
        "account"
    ]
    r = admin.call("PATCH", f"/accounts/{three['id']}", {"api_key": "sk-up-1"})  # "one" has that credential
    assert r.status == 409
    assert r.json()["error"]["code"] == "duplicate_account"


def test_account_test_and_test_all_stream_and_non_stream(up: Any, sim: SimServer) -> None:
    _, admin = up()
    sim.keys = {"sk-up-1"}
    good = admin.account_by_label("sim key 1")
    res = admin.ok("POST", "/accounts/test", {"id": good["id"]})
    assert res["ok"] is True
    assert res["non_stream"]["ok"]
    assert res["stream"]["ok"]
    assert [q.stream for q in sim.chat_requests] == [False, True]

    bad = admin.ok("POST", "/accounts", {"provider": "sim", "api_key": "sk-up-bad", "label": "bad"})[
        "account"
    ]
    res = admin.ok("POST", "/accounts/test", {"id": bad["id"]})
    assert res["ok"] is False
    assert res["upstream_status"] == 401
    assert admin.status_of(bad["id"])["status"] == "disabled"

    sim.keys = {"sk-up-1", "sk-up-bad"}  # the upstream accepts it again: a re-test re-enables it
    all_ = admin.ok("POST", "/accounts/test-all")
    assert (all_["total"], all_["ok"], all_["failed"]) == (2, 2, 0)
    assert admin.status_of(bad["id"])["status"] == "healthy"

    # an upstream that only streams: the account still passes
    sim.clear()
    sim.enqueue(
        openai_error(400, "stream must be true", "invalid_request_error"), match=lambda q: not q.stream
    )
    res = admin.ok("POST", "/accounts/test", {"id": good["id"]})
    assert res["ok"] is True
    assert res["non_stream"]["ok"] is False
    assert res["stream"]["ok"] is True
    assert admin.call("POST", "/accounts/test", {"id": "acc_none"}).status == 404
    assert admin.call("POST", "/accounts/test", {}).json()["error"]["param"] == "id"


# -- client keys ----------------------------------------------------------------------------------------


def test_keys_created_with_limits_are_enforced_then_revoked(up: Any) -> None:
    gw, admin = up()
    created = admin.ok("POST", "/keys", {"name": "team-a", "models": ["sim-gpt"], "rpm": 2})
    secret = created["key"]
    assert secret.startswith("sk-a2a-")
    assert created["rpm"] == 2
    assert created["models"] == ["sim-gpt"]
    listed = admin.ok("GET", "/keys")
    assert secret not in json.dumps(listed)
    assert [k["name"] for k in listed["keys"]] == ["team-a"]
    assert listed["keys"][0]["status"] == "active"

    client = openai_client(gw.url, secret)
    assert client.chat.completions.create(
        model="sim-gpt", messages=[{"role": "user", "content": "x"}]
    ).choices
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="sim-claude", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError) as ei:
        client.chat.completions.create(model="sim-gpt", messages=[{"role": "user", "content": "x"}])
    retry = int(ei.value.response.headers["retry-after"])
    assert 1 <= retry <= 60
    assert "requests per minute" in ei.value.message

    admin.ok("DELETE", f"/keys/{created['id']}")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="sim-gpt", messages=[{"role": "user", "content": "x"}])
    assert admin.ok("GET", f"/keys/{created['id']}")["status"] == "revoked"
    assert admin.call("DELETE", "/keys/key_nope").status == 404
    for body, param in [
        ({"rpm": 0}, "rpm"),
        ({"models": "x"}, "models"),
        ({"expires_at": "soon"}, "expires_at"),
    ]:
        r = admin.call("POST", "/keys", body)
        assert r.status == 400
        assert r.json()["error"]["param"] == param


def test_budget_expiry_and_patch(up: Any) -> None:
    gw, admin = up()
    k = admin.ok("POST", "/keys", {"name": "b", "token_budget": 1})
    r = chat(gw.url, k["key"])
    assert r.status == 200  # the budget is checked before a request; this one spends it
    for _ in range(50):
        if admin.ok("GET", f"/keys/{k['id']}")["tokens_used"] >= 1:
            break
        time.sleep(0.02)
    r = chat(gw.url, k["key"])
    assert r.status == 429
    assert r.json()["error"]["code"] == "insufficient_quota"
    admin.ok("PATCH", f"/keys/{k['id']}", {"token_budget": 10_000})
    assert chat(gw.url, k["key"]).status == 200

    e = admin.ok("POST", "/keys", {"name": "old", "expires_at": time.time() + 3})
    assert chat(gw.url, e["key"]).status == 200
    while admin.ok("GET", f"/keys/{e['id']}")["status"] != "expired":
        time.sleep(0.1)
    r = chat(gw.url, e["key"])
    assert r.status == 401
    assert r.json()["error"]["code"] == "api_key_expired"
    assert admin.ok("GET", f"/keys/{e['id']}")["status"] == "expired"


def test_tpm_limit(up: Any, sim: SimServer) -> None:
    gw, admin = up()
    k = admin.ok("POST", "/keys", {"name": "t", "tpm": 50})
    sim.default = Script.text("hello", usage=SimUsage(40, 20))
    assert chat(gw.url, k["key"]).status == 200  # 60 tokens spent: the next one must wait
    r = chat(gw.url, k["key"])
    assert r.status == 429
    assert "tokens per minute" in r.json()["error"]["message"]
    assert 1 <= int(r.headers["retry-after"]) <= 61


# -- usage, config, export/import -------------------------------------------------------------------------


def test_usage_totals_by_key_model_provider(up: Any, sim: SimServer) -> None:
    gw, admin = up(client_keys=("sk-config-client",))
    sim.default = Script.text("hello", usage=SimUsage(7, 3))
    k = admin.ok("POST", "/keys", {"name": "u"})
    t0 = time.time()
    for key, model in [(k["key"], "sim-gpt"), (k["key"], "sim-claude"), ("sk-config-client", "sim-gpt")]:
        assert chat(gw.url, key, model).status == 200
    u = admin.ok("GET", f"/usage?since={t0 - 1}")
    assert u["totals"]["requests"] == 3
    assert (u["totals"]["input_tokens"], u["totals"]["output_tokens"]) == (21, 9)
    by_key = {g["group"]: (g["requests"], g["name"]) for g in u["by_key"]}
    assert by_key[k["id"]] == (2, "u")
    assert len(by_key) == 2
    assert {g["group"]: g["requests"] for g in u["by_model"]} == {"sim-gpt": 2, "sim-claude": 1}
    assert [(g["group"], g["requests"]) for g in u["by_provider"]] == [("sim", 3)]
    assert admin.ok("GET", f"/usage?since={time.time() + 60}")["totals"]["requests"] == 0
    assert admin.call("GET", "/usage?since=yesterday").json()["error"]["param"] == "since"


def test_runtime_config_models_and_pool(up: Any, sim: SimServer) -> None:
    gw, admin = up(client_keys=("sk-c",))
    assert chat(gw.url, "sk-c", "fast").status == 404
    res = admin.ok("POST", "/config", {"models": {"fast": ["sim/sim-gpt"]}, "pool": {"strategy": "weighted"}})
    assert res["models"]["fast"] == ["sim/sim-gpt"]
    assert res["pool"]["strategy"] == "weighted"
    r = chat(gw.url, "sk-c", "fast")
    assert r.status == 200
    assert sim.last.model == "sim-gpt"
    assert admin.ok("GET", "/queue/status")["strategy"] == "weighted"
    for body, param in [
        ({"pool": {"strategy": "random"}}, "pool.strategy"),
        ({"pool": {"queue_size": -1}}, "pool.queue_size"),
        ({"models": {"x": ["nope/m"]}}, "models.x"),
        ({"colour": 1}, "colour"),
    ]:
        r = admin.call("POST", "/config", body)
        assert r.status == 400, r.body
        assert r.json()["error"]["param"] == param, r.body
    admin.ok("POST", "/config", {"models": {"fast": None}})
    assert chat(gw.url, "sk-c", "fast").status == 404
    # DS2API style: keys as plain strings become working client keys
    admin.ok("POST", "/config", {"keys": ["sk-ds2api-style-key"]})
    assert chat(gw.url, "sk-ds2api-style-key").status == 200


def test_export_then_import_into_a_fresh_gateway(
    up: Any,
    start_gateway: Start,
    sim: SimServer,
    tmp_path: Path,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, admin = up()
    admin.ok(
        "POST", "/accounts", {"provider": "sim", "api_key": "sk-up-exported", "label": "exp", "weight": 3}
    )
    key = admin.ok("POST", "/keys", {"name": "carried", "rpm": 100})
    admin.ok("POST", "/config", {"models": {"fast": ["sim/sim-gpt"]}})
    plain = admin.call("GET", "/export")
    assert plain.status == 200
    assert "attachment" in plain.headers["content-disposition"]
    assert "sk-up-exported" not in plain.body.decode()
    assert "key_hash" not in plain.body.decode()
    full = admin.call("GET", "/export?secrets=true").json()
    assert {a["api_key"] for a in full["accounts"]} == {"sk-up-1", "sk-up-exported"}

    other = f"sqlite:///{tmp_path / 'other.db'}"
    gw2 = start_gateway(gateway_config(sim.url, other, upstream_keys=("sk-other",)))
    admin2 = Admin(gw2.url).login()
    bad = admin2.call("POST", "/import", {"accounts": [{"provider": "zzz", "api_key": "k"}]})
    assert bad.status == 400
    assert bad.json()["error"]["param"] == "accounts[0].provider"
    rep = admin2.ok("POST", "/import?mode=replace", full)
    assert (rep["accounts_added"], rep["accounts_removed"], rep["keys_added"]) == (2, 1, 1)
    assert {a["label"] for a in admin2.ok("GET", "/accounts")["accounts"]} == {"sim key 1", "exp"}
    r = chat(gw2.url, key["key"], "fast")
    assert r.status == 200
    sim.clear()
    sim.keys = {"sk-up-exported"}
    assert chat(gw2.url, key["key"]).status == 200  # the imported credential works upstream
    assert admin2.call("POST", "/import?mode=wipe", full).status == 400
