"""Helpers for admin tests: a gateway config over the simulator and the store, and an admin client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.rawhttp import Reply, request

ADMIN_KEY = "admin-key-for-tests"


def gateway_config(
    sim_url: str,
    store_url: str,
    redis_url: str | None = None,
    upstream_keys: tuple[str, ...] = ("sk-up-1",),
    client_keys: tuple[str, ...] = (),
    extra: str = "",
) -> str:
    keys = ", ".join(upstream_keys)
    lines = [
        f'database_url: "{store_url}"',
        f'redis_url: "{redis_url}"' if redis_url else "",
        "admin:",
        f"  key: {ADMIN_KEY}",
        f"auth:\n  keys: [{', '.join(client_keys)}]" if client_keys else "",
        "providers:",
        "  - name: sim",
        "    type: openai",
        f"    base_url: {sim_url}/v1",
        f"    api_keys: [{keys}]",
        "    models: [sim-gpt, sim-claude]",
        extra,
    ]
    return "\n".join(line for line in lines if line) + "\n"


@dataclass
class Admin:
    url: str
    token: str | None = None

    def login(self, key: str = ADMIN_KEY) -> Admin:
        r = request("POST", self.url + "/admin/login", {"key": key})
        assert r.status == 200, r.body
        self.token = r.json()["token"]
        return self

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Reply:
        data = json.dumps(body) if body is not None and not isinstance(body, (bytes, str)) else body
        h = {"Authorization": f"Bearer {token or self.token}"} if (token or self.token) else {}
        return request(method, self.url + "/admin" + path, data, h)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        r = self.call(method, path, body)
        assert r.status == 200, (r.status, r.body)
        data = r.json()
        assert data["success"] is True
        return data

    def account_by_label(self, label: str) -> dict[str, Any]:
        for a in self.ok("GET", "/accounts")["accounts"]:
            if a["label"] == label:
                return a  # type: ignore[no-any-return]
        raise AssertionError(f"no account labelled {label!r}")

    def status_of(self, account_id: str) -> dict[str, Any]:
        for a in self.ok("GET", "/queue/status")["accounts"]:
            if a["id"] == account_id:
                return a  # type: ignore[no-any-return]
        raise AssertionError(f"no account {account_id!r} in queue status")


def chat(url: str, key: str, model: str = "sim-gpt", text: str = "hi", stream: bool = False) -> Reply:
    return request(
        "POST", url + "/v1/chat/completions",
        {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream},
        {"Authorization": f"Bearer {key}"},
    )  # fmt: skip
