"""Probe finding 7: an upstream that redirects does not get our credentials carried to the target; the
client gets a clear 502 naming the target host, in its own dialect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.rawhttp import request

KEY = "sk-test-client"


class _Server:
    def __init__(self, location: str | None = None) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                outer.seen.append((self.path, dict(self.headers)))
                if location is not None:
                    self.send_response(307)
                    self.send_header("Location", location + self.path)
                    self.send_header("Content-Length", "0")
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                self.end_headers()
                if location is None:
                    self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server]]:
    thief = _Server()
    redirector = _Server(location=thief.url)
    yield redirector, thief
    redirector.close()
    thief.close()


CONFIG = """
server: {{host: 127.0.0.1, port: 0}}
auth:
  keys: [{key}]
providers:
  - name: oai
    type: openai
    base_url: {up}/v1
    api_keys: [sk-upstream-openai-key]
    models: [m1]
  - name: oai-t
    type: openai
    base_url: {up}/v1
    api_keys: [sk-upstream-openai-key]
    models: [m2]
    passthrough: false
  - name: ant
    type: anthropic
    base_url: {up}
    api_keys: [sk-ant-upstream-key]
    models: [c1]
"""


@pytest.mark.parametrize(
    ("path", "model", "headers"),
    [
        ("/v1/chat/completions", "m1", {"Authorization": f"Bearer {KEY}"}),
        ("/v1/chat/completions", "m2", {"Authorization": f"Bearer {KEY}"}),
        ("/v1/messages", "c1", {"x-api-key": KEY, "anthropic-version": "2023-06-01"}),
    ],
)
def test_upstream_redirect_is_a_502_naming_the_target_and_credentials_stay_home(
    start_gateway, servers, path, model, headers
):
    redirector, thief = servers
    gw = start_gateway(CONFIG.format(key=KEY, up=redirector.url))
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    if path.endswith("completions"):
        del body["max_tokens"]
    r = request("POST", gw.url + path, body, headers)
    assert r.status == 502, r.body
    b = r.json()
    err = b["error"]
    if path == "/v1/messages":
        assert b["type"] == "error"
        assert err["type"] == "api_error"
    else:
        assert err["code"] == "upstream_redirect"
    assert f"127.0.0.1:{thief.port}" in err["message"]
    assert "redirect" in err["message"]
    assert len(redirector.seen) == 1  # tried once (a redirect is not the account's fault), not followed
    assert thief.seen == []
