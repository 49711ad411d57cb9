"""A minimal HTTP/1.1 client on a plain socket, to see exactly what the simulator puts on the wire:
the status line, headers, the chunks of a chunked body one by one, and whether the body was complete."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    chunks: list[bytes] = field(default_factory=list)
    """The chunks of a chunked body, as framed by the server."""
    complete: bool = True
    """False when the connection ended before the end of the body."""
    reset: bool = False
    """The connection was reset (RST) rather than closed."""


def _read_line(f: Any) -> bytes:
    line: bytes = f.readline(65536)
    return line


def request(
    base_url: str,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> RawResponse:
    u = urlsplit(base_url)
    data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    head = [f"{method} {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Connection: close"]
    h = {"Content-Type": "application/json", **(headers or {})}
    head += [f"{k}: {v}" for k, v in h.items()]
    head.append(f"Content-Length: {len(data)}")
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + data
    sock = socket.create_connection((u.hostname or "127.0.0.1", u.port or 80), timeout=timeout)
    try:
        sock.sendall(raw)
        f = sock.makefile("rb")
        try:
            return _read_response(f)
        finally:
            f.close()
    finally:
        sock.close()


def _read_response(f: Any) -> RawResponse:
    status_line = _read_line(f)
    if not status_line:
        raise ConnectionError("no response")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = _read_line(f)
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    resp = RawResponse(status, headers, b"")
    try:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            _read_chunked(f, resp)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            resp.body = f.read(n)
            resp.complete = len(resp.body) == n
        else:
            resp.body = f.read()
    except ConnectionResetError:
        resp.complete = False
        resp.reset = True
    return resp


def _read_chunked(f: Any, resp: RawResponse) -> None:
    body = bytearray()
    while True:
        size_line = _read_line(f)
        if not size_line.endswith(b"\r\n"):
            resp.complete = False
            break
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            _read_line(f)  # the CRLF after the last chunk
            break
        chunk = f.read(size)
        if len(chunk) < size or f.read(2) != b"\r\n":
            body += chunk
            resp.complete = False
            break
        resp.chunks.append(chunk)
        body += chunk
    resp.body = bytes(body)
