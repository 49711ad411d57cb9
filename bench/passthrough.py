"""Minimal aiohttp pass-through: the Python ceiling that bench/run compares the gateway against.

Checks the Bearer key, parses and re-encodes the JSON body, forwards it upstream over one shared
ClientSession and streams the answer back. Usage: passthrough.py PORT UPSTREAM_BASE_URL (e.g. .../v1).
"""

import hmac
import sys
from collections.abc import AsyncIterator

import aiohttp
import orjson
import uvloop
from aiohttp import web

PORT, BASE = int(sys.argv[1]), sys.argv[2].rstrip("/")
EXPECTED = b"Bearer sk-bench"
UP_HEADERS = {"Authorization": "Bearer sk-upstream", "Content-Type": "application/json"}
session = web.AppKey("session", aiohttp.ClientSession)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error"}}, status=status)


async def chat(request: web.Request) -> web.StreamResponse:
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), EXPECTED):
        return error(401, "invalid api key")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return error(400, "body is not valid JSON")
    async with request.app[session].post(
        BASE + "/chat/completions", data=orjson.dumps(body), headers=UP_HEADERS
    ) as up:
        resp = web.StreamResponse(status=up.status)
        resp.content_type = up.content_type
        if up.content_length is not None:
            resp.content_length = up.content_length
        await resp.prepare(request)
        async for chunk in up.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
        return resp


async def client(app: web.Application) -> AsyncIterator[None]:
    app[session] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), auto_decompress=False)
    yield
    await app[session].close()


app = web.Application()
app.cleanup_ctx.append(client)
app.router.add_post("/v1/chat/completions", chat)
web.run_app(app, host="127.0.0.1", port=PORT, access_log=None, print=None, loop=uvloop.new_event_loop())
