"""The admin API (DS2API-compatible paths and bodies, JSON), mounted under ``/admin``.

Every endpoint but ``POST /login`` needs ``Authorization: Bearer <jwt>`` (from ``/login``) or the admin key
itself. Errors use DS2API's body: ``{"error": {"message", "type", "code", "param"}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..routing.pool import iso
from .errors import AdminError, InputError
from .models import ExportQuery, ImportQuery, input_schemas, parse
from .runtime import AdminRuntime, current
from .views import account_view, config_view, key_view, probe_view, provider_view, usage_view

log = logging.getLogger("any2api.admin")

MAX_BODY = 16 * 1024 * 1024

_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_denied", 404: "not_found_error",
    405: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error", 429: "rate_limit_error",
    500: "internal_error", 503: "service_unavailable",
}  # fmt: skip


def ok(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps({"success": True, **data}), status, headers=headers, media_type="application/json"
    )


def error_response(e: AdminError) -> Response:
    body = {
        "error": {
            "message": e.message,
            "type": _TYPES.get(e.status, "error"),
            "code": e.code,
            "param": e.param,
        }
    }
    return Response(orjson.dumps(body), e.status, headers=e.headers, media_type="application/json")


def bad(e: InputError) -> AdminError:
    return AdminError(400, str(e), "invalid_request", e.path or None)


async def read_json(request: Request, required: bool = True) -> Any:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY:
        raise AdminError(413, f"Request body is larger than {MAX_BODY} bytes", "payload_too_large")
    chunks = []
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > MAX_BODY:
            raise AdminError(413, f"Request body is larger than {MAX_BODY} bytes", "payload_too_large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise AdminError(400, "Request body must be a JSON object", "invalid_json")
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise AdminError(400, f"Request body is not valid JSON: {e}", "invalid_json") from None


def _client_id(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- handlers -------------------------------------------------------------------------------------------


async def login(request: Request, rt: AdminRuntime) -> Response:
    token, ttl = await rt.service.session.login(await read_json(request), _client_id(request))
    return ok({"token": token, "expires_in": ttl, "token_type": "Bearer"})


async def schema(request: Request, rt: AdminRuntime) -> Response:
    return ok({"schemas": input_schemas()})


async def get_config(request: Request, rt: AdminRuntime) -> Response:
    return ok(config_view(await rt.service.config.snapshot(), rt.pool, rt.auth))


async def post_config(request: Request, rt: AdminRuntime) -> Response:
    svc = rt.service.config
    res = await svc.update(await read_json(request))
    view = config_view(await svc.snapshot(), rt.pool, rt.auth)
    view["created_keys"] = [
        {"id": k.row.id, "hint": k.row.hint}
        if k.secret is None
        else {"id": k.row.id, "key": k.secret, "hint": k.row.hint}
        for k in res.created_keys
    ]
    view["accounts_added"] = len(res.accounts.added)
    view["accounts_skipped"] = [
        {"provider": s.row.provider, "existing_id": s.existing_id} for s in res.accounts.skipped
    ]
    return ok(view)


async def list_accounts(request: Request, rt: AdminRuntime) -> Response:
    return ok({"accounts": [account_view(a, rt.pool) for a in await rt.service.accounts.all()]})


async def add_account(request: Request, rt: AdminRuntime) -> Response:
    row = await rt.service.accounts.add(await read_json(request))
    return ok({"account": account_view(row, rt.pool)})


async def add_accounts_batch(request: Request, rt: AdminRuntime) -> Response:
    res = await rt.service.accounts.add_batch(await read_json(request))
    return ok(
        {
            "added": len(res.added),
            "skipped": [
                {"index": s.index, "reason": "duplicate", "existing_id": s.existing_id} for s in res.skipped
            ],
            "accounts": [account_view(r, rt.pool) for r in res.added],
        }
    )


async def test_account(request: Request, rt: AdminRuntime) -> Response:
    account_id, result = await rt.service.accounts.test(await read_json(request))
    return ok(probe_view(account_id, result))


async def test_all_accounts(request: Request, rt: AdminRuntime) -> Response:
    results = [probe_view(s.id, r) for s, r in await rt.service.accounts.test_many()]
    n_ok = sum(1 for r in results if r["ok"])
    return ok({"total": len(results), "ok": n_ok, "failed": len(results) - n_ok, "results": results})


async def account_detail(request: Request, rt: AdminRuntime) -> Response:
    account_id = request.path_params["account_id"]
    svc = rt.service.accounts
    if request.method == "GET":
        return ok({"account": account_view(await svc.get(account_id), rt.pool)})
    if request.method == "DELETE":
        await svc.delete(account_id)
        return ok({"id": account_id, "deleted": True})
    row = await svc.update(account_id, await read_json(request))
    return ok({"account": account_view(row, rt.pool)})


async def clear_cooldown(request: Request, rt: AdminRuntime) -> Response:
    row = await rt.service.accounts.clear_cooldown(request.path_params["account_id"])
    return ok({"account": account_view(row, rt.pool)})


async def queue_status(request: Request, rt: AdminRuntime) -> Response:
    return ok(await rt.service.accounts.status())


async def keys_collection(request: Request, rt: AdminRuntime) -> Response:
    svc = rt.service.keys
    if request.method == "GET":
        return ok({"keys": [key_view(k, rt.auth) for k in await svc.all()]})
    row, secret = await svc.create(await read_json(request))
    return ok({"key": secret, **key_view(row, rt.auth)})


async def key_detail(request: Request, rt: AdminRuntime) -> Response:
    key_id = request.path_params["key_id"]
    svc = rt.service.keys
    if request.method == "GET":
        return ok(key_view(await svc.get(key_id), rt.auth))
    if request.method == "DELETE":
        row, _ = await svc.revoke(key_id)
        return ok({"id": key_id, "revoked": True, "revoked_at": iso(row.revoked_at)})
    return ok(key_view(await svc.update(key_id, await read_json(request)), rt.auth))


async def usage(request: Request, rt: AdminRuntime) -> Response:
    return ok(usage_view(await rt.service.usage.report(dict(request.query_params))))


async def export(request: Request, rt: AdminRuntime) -> Response:
    q = parse(ExportQuery, dict(request.query_params))
    data = await rt.service.transfer.export(include_secrets=q.secrets)
    return Response(
        orjson.dumps(data, option=orjson.OPT_INDENT_2), 200, media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="any2api-export.json"'},
    )  # fmt: skip


async def import_(request: Request, rt: AdminRuntime) -> Response:
    q = parse(ImportQuery, dict(request.query_params))
    rep = await rt.service.transfer.import_(await read_json(request), replace=q.mode == "replace")
    return ok({"mode": q.mode, **rep.to_dict()})


async def providers_collection(request: Request, rt: AdminRuntime) -> Response:
    svc = rt.service.providers
    if request.method == "GET":
        return ok({"providers": [provider_view(e) for e in svc.entries()]})
    rec = await svc.create(await read_json(request))
    return ok({"provider": provider_view(svc.entry(rec))})


async def provider_detail(request: Request, rt: AdminRuntime) -> Response:
    svc = rt.service.providers
    name = request.path_params["name"]
    if request.method == "GET":
        return ok({"provider": provider_view(svc.find(name))})
    if request.method == "DELETE":
        await svc.delete(name)
        return ok({"name": name, "deleted": True})
    rec = await svc.replace(name, await read_json(request))
    return ok({"provider": provider_view(svc.entry(rec))})


# -- routing --------------------------------------------------------------------------------------------

Handler = Callable[[Request, AdminRuntime], Awaitable[Response]]
Resolver = Callable[[], AdminRuntime | None]


def _endpoint(
    methods: dict[str, Handler], resolve: Resolver, public: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    allow = ", ".join(sorted(methods))

    async def endpoint(request: Request) -> Response:
        handler = methods.get(request.method)
        if handler is None and request.method == "HEAD":
            handler = methods.get("GET")
        try:
            rt = resolve()
            if rt is None:
                raise AdminError(503, "The admin API is not attached to a store", "admin_unavailable")
            if not public:
                await rt.service.session.authorize(
                    request.headers.get("authorization", ""), _client_id(request)
                )
            if handler is None:
                raise AdminError(405, f"Method {request.method} is not allowed here (allowed: {allow})",
                                 "method_not_allowed", headers={"Allow": allow})  # fmt: skip
            return await handler(request, rt)
        except AdminError as e:
            return error_response(e)
        except InputError as e:
            return error_response(bad(e))
        except Exception:
            log.exception("admin %s %s failed", request.method, request.url.path)
            return error_response(AdminError(500, "Internal error (see the gateway log)", "internal_error"))

    return endpoint


_ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


async def _not_found(request: Request, rt: AdminRuntime) -> Response:
    raise AdminError(404, f"No admin endpoint {request.url.path}", "not_found")


def make_routes(resolve: Resolver) -> list[Route]:
    """The admin routes (paths relative to the ``/admin`` mount), finding their runtime with ``resolve``."""

    def r(path: str, methods: dict[str, Handler], public: bool = False) -> Route:
        return Route(path, _endpoint(methods, resolve, public), methods=_ALL)

    return [
        r("/login", {"POST": login}, public=True),
        r("/schema", {"GET": schema}),
        r("/config", {"GET": get_config, "POST": post_config}),
        r("/accounts", {"GET": list_accounts, "POST": add_account}),
        r("/accounts/batch", {"POST": add_accounts_batch}),
        r("/accounts/test", {"POST": test_account}),
        r("/accounts/test-all", {"POST": test_all_accounts}),
        r(
            "/accounts/{account_id}",
            {"GET": account_detail, "PATCH": account_detail, "DELETE": account_detail},
        ),
        r("/accounts/{account_id}/clear-cooldown", {"POST": clear_cooldown}),
        r("/queue/status", {"GET": queue_status}),
        r("/keys", {"GET": keys_collection, "POST": keys_collection}),
        r("/keys/{key_id}", {"GET": key_detail, "PATCH": key_detail, "DELETE": key_detail}),
        r("/providers", {"GET": providers_collection, "POST": providers_collection}),
        r("/providers/{name}", {"GET": provider_detail, "PUT": provider_detail, "DELETE": provider_detail}),
        r("/usage", {"GET": usage}),
        r("/export", {"GET": export}),
        r("/import", {"POST": import_}),
        r("/{path:path}", {m: _not_found for m in _ALL if m != "HEAD"}),
    ]


routes: list[Route] = make_routes(current)
"""Routes bound to the most recently attached runtime (one gateway per process)."""
