# ruff: noqa: F811  (pytest fixtures imported from tests/store/fixtures.py are redefined as parameters)
"""``x-any2api-account`` over HTTP: the admin key pins one upstream account, on the pass-through path and
on the translating path; any other key is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.admin.harness import ADMIN_KEY, Admin, chat, gateway_config
from tests.rawhttp import request
from tests.sim.server import SimServer
from tests.store.fixtures import backend, data_dir, store_url  # noqa: F401


def test_the_admin_key_pins_an_account_and_other_keys_may_not(
    start_gateway: Callable[[str], Any], sim: SimServer, store_url: str, data_dir: Path
) -> None:
    gw = start_gateway(gateway_config(sim.url, store_url, upstream_keys=("sk-up-1", "sk-up-2"),
                                      client_keys=("sk-client",)))  # fmt: skip
    admin = Admin(gw.url).login()
    pinned = admin.account_by_label("sim key 2")["id"]
    pin = {"Authorization": f"Bearer {ADMIN_KEY}", "x-any2api-account": pinned}
    body = {"model": "sim-gpt", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        r = request("POST", gw.url + "/v1/chat/completions", body, pin)  # pass-through
        assert r.status == 200, r.body
    anthropic = {"model": "sim-gpt", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(2):
        r = request("POST", gw.url + "/v1/messages", anthropic, {**pin, "anthropic-version": "2023-06-01"})
        assert r.status == 200, r.body  # translated (Anthropic client, OpenAI upstream)
    assert [q.api_key for q in sim.chat_requests] == ["sk-up-2"] * 5

    r = request("POST", gw.url + "/v1/chat/completions", body, {**pin, "Authorization": "Bearer sk-client"})
    assert r.status == 403
    err = r.json()["error"]
    assert err["code"] == "permission_denied"
    assert err["param"] == "x-any2api-account"

    r = request("POST", gw.url + "/v1/chat/completions", body, {**pin, "x-any2api-account": "acc_nope"})
    assert r.status == 404
    assert r.json()["error"]["code"] == "pinned_account_not_found"

    assert chat(gw.url, "sk-client").status == 200  # unpinned requests are unaffected
    assert chat(gw.url, "sk-client").status == 200
    assert {q.api_key for q in sim.chat_requests[5:]} == {"sk-up-1", "sk-up-2"}
