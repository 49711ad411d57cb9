"""Raw HTTP for edge cases the SDKs never send (malformed JSON, wrong methods, huge bodies)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.sim.fold import sse_data


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def sse_data(self) -> list[str]:
        """The ``data:`` payloads of an SSE body, in order."""
        return sse_data(self.body)


def request(method: str, url: str, body: bytes | str | dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:  # fmt: skip
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    data: bytes | None
    if isinstance(body, dict):
        data = json.dumps(body).encode()
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = body
    h = {"Content-Type": "application/json", **(headers or {})}
    try:
        conn.request(method, u.path + (f"?{u.query}" if u.query else ""), body=data, headers=h)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()
