"""The admin API (DS2API-compatible paths and bodies, JSON), mounted under ``/admin``.

Every endpoint but ``POST /login`` needs ``Authorization: Bearer <jwt>`` (from ``/login``) or the admin key
itself. Errors use DS2API's body: ``{"error": {"message", "type", "code", "param"}}``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..auth import hash_key
from ..routing.pool import iso
from ..routing.pool_ports import ProbeResult
from ..store.accounts import AccountRow, DuplicateAccountError
from ..store.client_keys import KeyRow
from ..store.crypto import mask
from ..store.inputs import (
    InputError,
    obj,
    opt_bool,
    opt_int,
    opt_str,
    opt_time,
    parse_account,
    parse_key,
    parse_proxy,
)
from ..store.portable import export_all, import_all, validate
from .runtime import AdminRuntime, current, validate_models
from .security import TOKEN_TTL

log = logging.getLogger("any2api.admin")

MAX_BODY = 16 * 1024 * 1024
TEST_CONCURRENCY = 4

_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_denied", 404: "not_found_error",
    405: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error", 429: "rate_limit_error",
    500: "internal_error", 503: "service_unavailable",
}  # fmt: skip


class AdminError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


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


async def require_admin(request: Request, rt: AdminRuntime) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    who = _client_id(request)
    if scheme.lower() != "bearer" or not token:
        raise AdminError(
            401, "Missing admin credentials: send 'Authorization: Bearer <token from POST /admin/login>'",
            "missing_token", headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    if token.count(".") == 2 and rt.tokens.verify(token):
        return
    if rt.tokens.check_admin_key(token):
        return
    entry = rt.auth.by_digest(hash_key(token))
    if entry is not None and entry.row.is_admin and entry.row.active:
        return
    wait = await rt.limiter.blocked_for(who)
    if wait:
        raise AdminError(429, "Too many failed admin logins; try again later", "too_many_attempts",
                         headers={"Retry-After": str(wait)})  # fmt: skip
    if token.count(".") != 2:
        await rt.limiter.failed(who)
    raise AdminError(
        401, "Invalid or expired admin token", "invalid_token", headers={"WWW-Authenticate": "Bearer"}
    )


# -- views --------------------------------------------------------------------------------------------


def account_view(row: AccountRow, rt: AdminRuntime | None = None) -> dict[str, Any]:
    st = rt.pool.state(row.id) if rt is not None else None
    now = time.time()
    cooling = row.cooldown_until is not None and row.cooldown_until > now
    return {
        "id": row.id, "provider": row.provider, "label": row.label, "api_key": mask(row.api_key),
        "weight": row.weight, "max_inflight": row.max_inflight, "proxy": "***" if row.proxy else None,
        "enabled": row.enabled, "disabled_reason": row.disabled_reason, "disabled_by": row.disabled_by,
        "cooldown_until": iso(row.cooldown_until) if cooling else None, "failures": row.failures,
        "last_error": row.last_error, "last_used": iso(row.last_used), "source": row.source,
        "in_flight": st.inflight if st is not None else 0, "created_at": iso(row.created_at),
    }  # fmt: skip


def key_view(row: KeyRow, rt: AdminRuntime | None = None) -> dict[str, Any]:
    entry = rt.auth.entry(row.id) if rt is not None else None
    used = max(row.tokens_used, entry.used) if entry is not None else row.tokens_used
    now = time.time()
    status = (
        "revoked" if row.revoked_at else "expired" if row.expires_at and row.expires_at <= now else "active"
    )
    return {
        "id": row.id, "name": row.name, "hint": row.hint, "status": status,
        "models": sorted(row.allowed_models) if row.allowed_models is not None else None,
        "rpm": row.rpm, "tpm": row.tpm, "token_budget": row.token_budget, "tokens_used": used,
        "expires_at": iso(row.expires_at), "revoked_at": iso(row.revoked_at), "is_admin": row.is_admin,
        "source": row.source, "created_at": iso(row.created_at),
    }  # fmt: skip


def probe_view(account_id: str, r: ProbeResult) -> dict[str, Any]:
    out: dict[str, Any] = {"id": account_id, "ok": r.ok, **r.details}
    if r.error is not None:
        out["error"] = r.error.message
        out["error_kind"] = r.error.kind
        out["upstream_status"] = r.error.upstream_status
    return out


# -- handlers -------------------------------------------------------------------------------------------


async def login(request: Request, rt: AdminRuntime) -> Response:
    who = _client_id(request)
    wait = await rt.limiter.blocked_for(who)
    if wait:
        raise AdminError(429, "Too many failed admin logins; try again later", "too_many_attempts",
                         headers={"Retry-After": str(wait)})  # fmt: skip
    body = obj(await read_json(request), "", {"key", "admin_key"})
    key = body.get("key", body.get("admin_key"))
    if not isinstance(key, str) or not key:
        raise AdminError(400, "key: the admin key is required (a string)", "invalid_request", "key")
    if not rt.tokens.enabled:
        raise AdminError(403, "Admin login is disabled: set admin.key in the config", "admin_disabled")
    if not rt.tokens.check_admin_key(key):
        await rt.limiter.failed(who)
        raise AdminError(401, "Invalid admin key", "invalid_admin_key")
    await rt.limiter.succeeded(who)
    return ok({"token": rt.tokens.issue(), "expires_in": TOKEN_TTL, "token_type": "Bearer"})


async def config_view(rt: AdminRuntime) -> dict[str, Any]:
    return {
        "keys": [key_view(k, rt) for k in await rt.store.keys.all()],
        "accounts": [account_view(a, rt) for a in await rt.store.accounts.all()],
        "models": rt.effective_models(),
        "model_overrides": rt.model_overrides,
        "pool": rt.pool.settings.to_dict(),
        "providers": [
            {"name": v["name"], "type": v["type"], "models": v["models"], "source": v["source"]}
            for v in rt.runtime_providers.views()
        ],
        "database": rt.store.backend,
        "redis": rt.shared is not None,
    }


async def get_config(request: Request, rt: AdminRuntime) -> Response:
    return ok(await config_view(rt))


async def post_config(request: Request, rt: AdminRuntime) -> Response:
    body = obj(await read_json(request), "", {"models", "pool", "keys", "accounts"})
    models = validate_models(body["models"], rt.provider_names) if "models" in body else None
    pool_over: dict[str, Any] | None = None
    if "pool" in body:
        p = obj(body["pool"], "pool")
        try:
            rt.base_pool.merged({**rt.pool_overrides, **p})
        except ValueError as e:
            raise AdminError(400, str(e), "invalid_request", str(e).split(":")[0]) from None
        pool_over = {**rt.pool_overrides, **p}
    keys_in = body.get("keys", [])
    if not isinstance(keys_in, list):
        raise InputError("keys", "must be a list")
    key_specs: list[Any] = []
    for i, k in enumerate(keys_in):
        if isinstance(k, str):
            if len(k) < 8:
                raise InputError(f"keys[{i}]", "a key given as a string must be at least 8 characters")
            key_specs.append(k)
        else:
            key_specs.append(parse_key(k, f"keys[{i}]"))
    acc_in = body.get("accounts", [])
    if not isinstance(acc_in, list):
        raise InputError("accounts", "must be a list")
    accounts = [parse_account(a, f"accounts[{i}]", rt.provider_names) for i, a in enumerate(acc_in)]

    created_keys = []
    for spec in key_specs:
        if isinstance(spec, str):
            if await rt.store.keys.by_hash(hash_key(spec)) is None:
                row, _ = await rt.store.keys.create("admin config", secret=spec)
                created_keys.append({"id": row.id, "hint": row.hint})
        else:
            row, secret = await rt.store.keys.create(
                spec.name, allowed_models=spec.allowed_models, rpm=spec.rpm, tpm=spec.tpm,
                token_budget=spec.token_budget, expires_at=spec.expires_at, is_admin=spec.is_admin,
            )  # fmt: skip
            created_keys.append({"id": row.id, "key": secret, "hint": row.hint})
    added, skipped = await rt.store.accounts.add_many([_new_account(rt, a) for a in accounts])
    if models is not None:
        await rt.store.settings.put("models", {**rt.model_overrides, **models})
    if pool_over is not None:
        await rt.store.settings.put("pool", pool_over)
    if models is not None or pool_over is not None:
        await rt.settings_changed()
    if created_keys:
        await rt.auth.reload()
        if rt.shared is not None:
            await rt.shared.publish({"t": "keys"})
    if added:
        await rt.pool.reload_all()
    view = await config_view(rt)
    view["created_keys"] = created_keys
    view["accounts_added"] = len(added)
    view["accounts_skipped"] = [{"provider": r.provider, "existing_id": eid} for r, eid in skipped]
    return ok(view)


def _new_account(rt: AdminRuntime, a: Any, source: str = "admin") -> AccountRow:
    return rt.store.accounts.new(
        a.provider, a.api_key, label=a.label or "", weight=a.weight or 1,
        max_inflight=a.max_inflight if a.max_inflight is not None else (
            rt.pool.settings.default_max_inflight if a.api_key else 0),
        proxy=a.proxy, enabled=a.enabled if a.enabled is not None else True, source=source,
    )  # fmt: skip


async def list_accounts(request: Request, rt: AdminRuntime) -> Response:
    return ok({"accounts": [account_view(a, rt) for a in await rt.store.accounts.all()]})


async def add_account(request: Request, rt: AdminRuntime) -> Response:
    a = parse_account(await read_json(request), "", rt.provider_names)
    try:
        row = await rt.store.accounts.add(_new_account(rt, a))
    except DuplicateAccountError as e:
        raise AdminError(
            409, f"This credential is already account {e.existing_id}", "duplicate_account"
        ) from None
    await rt.pool.reload_account(row.id)
    return ok({"account": account_view(row, rt)})


async def add_accounts_batch(request: Request, rt: AdminRuntime) -> Response:
    body = obj(await read_json(request), "", {"accounts"})
    items = body.get("accounts")
    if not isinstance(items, list) or not items:
        raise InputError("accounts", "must be a non-empty list of accounts")
    parsed = [parse_account(a, f"accounts[{i}]", rt.provider_names) for i, a in enumerate(items)]
    rows = [_new_account(rt, a) for a in parsed]
    added, skipped = await rt.store.accounts.add_many(rows)
    if added:
        await rt.pool.reload_all()
    index = {id(r): i for i, r in enumerate(rows)}
    return ok(
        {
            "added": len(added),
            "skipped": [
                {"index": index[id(r)], "reason": "duplicate", "existing_id": eid} for r, eid in skipped
            ],
            "accounts": [account_view(r, rt) for r in added],
        }
    )


async def _find_account(rt: AdminRuntime, body: dict[str, Any]) -> str:
    ident = body.get("id", body.get("account_id", body.get("label")))
    if not isinstance(ident, str) or not ident:
        raise AdminError(400, "id: the account id is required", "invalid_request", "id")
    if rt.pool.state(ident) is not None or await rt.store.accounts.get(ident) is not None:
        return ident
    for a in await rt.store.accounts.all():
        if a.label == ident:
            return a.id
    raise AdminError(404, f"No account {ident!r}", "account_not_found", "id")


async def test_account(request: Request, rt: AdminRuntime) -> Response:
    body = obj(await read_json(request), "", {"id", "account_id", "label"})
    account_id = await _find_account(rt, body)
    result = await rt.pool.test(account_id)
    return ok(probe_view(account_id, result))


async def test_all_accounts(request: Request, rt: AdminRuntime) -> Response:
    sem = asyncio.Semaphore(TEST_CONCURRENCY)
    states = [s for s in rt.pool.account_states() if s.served]

    async def one(account_id: str) -> dict[str, Any]:
        async with sem:
            return probe_view(account_id, await rt.pool.test(account_id))

    results = await asyncio.gather(*(one(s.id) for s in states))
    n_ok = sum(1 for r in results if r["ok"])
    return ok({"total": len(results), "ok": n_ok, "failed": len(results) - n_ok, "results": results})


async def account_detail(request: Request, rt: AdminRuntime) -> Response:
    account_id = request.path_params["account_id"]
    if request.method == "GET":
        row = await rt.store.accounts.get(account_id)
        if row is None:
            raise AdminError(404, f"No account {account_id!r}", "account_not_found")
        return ok({"account": account_view(row, rt)})
    await rt.pool.flush()
    if request.method == "DELETE":
        if not await rt.store.accounts.delete(account_id):
            raise AdminError(404, f"No account {account_id!r}", "account_not_found")
        await rt.pool.reload_account(account_id)
        return ok({"id": account_id, "deleted": True})
    body = obj(
        await read_json(request), "", {"label", "weight", "max_inflight", "proxy", "enabled", "api_key"}
    )
    changes: dict[str, Any] = {}
    if "label" in body:
        changes["label"] = opt_str(body, "label", "") or ""
    if "weight" in body:
        changes["weight"] = opt_int(body, "weight", "", 1) or 1
    if "max_inflight" in body:
        v = opt_int(body, "max_inflight", "", 0)
        if v is None:
            raise InputError("max_inflight", "must be an integer >= 0")
        changes["max_inflight"] = v
    if "proxy" in body:
        changes["proxy"] = parse_proxy(body, "")
    if "enabled" in body:
        v2 = opt_bool(body, "enabled", "")
        if v2 is None:
            raise InputError("enabled", "must be true or false")
        changes["enabled"] = v2
    if "api_key" in body:
        changes["api_key"] = opt_str(body, "api_key", "", 8192) or None
    if not changes:
        raise AdminError(400, "Nothing to change: send label, weight, max_inflight, proxy, enabled or api_key",
                         "invalid_request")  # fmt: skip
    await rt.pool.flush()
    try:
        row = await rt.store.accounts.update(account_id, **changes)
    except DuplicateAccountError as e:
        raise AdminError(
            409, f"This credential is already account {e.existing_id}", "duplicate_account"
        ) from None
    if row is None:
        raise AdminError(404, f"No account {account_id!r}", "account_not_found")
    await rt.pool.reload_account(account_id)
    return ok({"account": account_view(row, rt)})


async def clear_cooldown(request: Request, rt: AdminRuntime) -> Response:
    account_id = request.path_params["account_id"]
    if not await rt.pool.clear_cooldown(account_id):
        raise AdminError(404, f"No account {account_id!r}", "account_not_found")
    row = await rt.store.accounts.get(account_id)
    assert row is not None
    return ok({"account": account_view(row, rt)})


async def queue_status(request: Request, rt: AdminRuntime) -> Response:
    return ok(await rt.pool.status())


async def keys_collection(request: Request, rt: AdminRuntime) -> Response:
    if request.method == "GET":
        return ok({"keys": [key_view(k, rt) for k in await rt.store.keys.all()]})
    k = parse_key(await read_json(request))
    row, secret = await rt.store.keys.create(
        k.name, allowed_models=k.allowed_models, rpm=k.rpm, tpm=k.tpm, token_budget=k.token_budget,
        expires_at=k.expires_at, is_admin=k.is_admin,
    )  # fmt: skip
    await rt.auth.reload_key(row.id)
    return ok({"key": secret, **key_view(row, rt)})


async def key_detail(request: Request, rt: AdminRuntime) -> Response:
    key_id = request.path_params["key_id"]
    if request.method == "GET":
        row = await rt.store.keys.get(key_id)
        if row is None:
            raise AdminError(404, f"No key {key_id!r}", "key_not_found")
        return ok(key_view(row, rt))
    if request.method == "DELETE":
        row = await rt.store.keys.revoke(key_id)
        if row is None:
            row = await rt.store.keys.get(key_id)
            if row is None:
                raise AdminError(404, f"No key {key_id!r}", "key_not_found")
        await rt.auth.reload_key(key_id)
        return ok({"id": key_id, "revoked": True, "revoked_at": iso(row.revoked_at)})
    k = parse_key(await read_json(request))
    fields = {
        "name": k.name, "allowed_models": k.allowed_models, "rpm": k.rpm, "tpm": k.tpm,
        "token_budget": k.token_budget, "expires_at": k.expires_at, "is_admin": k.is_admin,
    }  # fmt: skip
    fields = {f: v for f, v in fields.items() if f in k.present}
    if not fields:
        raise AdminError(400, "Nothing to change", "invalid_request")
    updated = await rt.store.keys.update(key_id, **fields)
    if updated is None:
        raise AdminError(404, f"No key {key_id!r}", "key_not_found")
    if "token_budget" in fields and rt.shared is not None:
        e = rt.auth.entry(key_id)
        await rt.shared.seed_used({key_id: e.used if e is not None else updated.tokens_used})
    await rt.auth.reload_key(key_id)
    return ok(key_view(updated, rt))


async def usage(request: Request, rt: AdminRuntime) -> Response:
    q = dict(request.query_params)
    since = _query_time(q, "since")
    until = _query_time(q, "until")
    await rt.usage.flush()
    totals = await rt.store.usage.totals(since, until)
    names = {k.id: k.name for k in await rt.store.keys.all()} | {"admin": "admin"}
    by_key = await rt.store.usage.totals(since, until, "key")
    for row in by_key:
        row["name"] = names.get(row["group"], "")
    return ok(
        {
            "since": iso(since), "until": iso(until), "totals": totals[0] if totals else {},
            "by_key": by_key,
            "by_model": await rt.store.usage.totals(since, until, "model"),
            "by_provider": await rt.store.usage.totals(since, until, "provider"),
        }
    )  # fmt: skip


def _query_time(q: dict[str, str], name: str) -> float | None:
    v = q.get(name)
    if v is None or v == "":
        return None
    value: Any = v
    try:
        value = float(v)
    except ValueError:
        pass
    return opt_time({name: value}, name, "")


def _flag(request: Request, name: str) -> bool:
    v = request.query_params.get(name, "").lower()
    if v in ("", "0", "false", "no"):
        return False
    if v in ("1", "true", "yes"):
        return True
    raise AdminError(400, f"{name}: must be true or false", "invalid_request", name)


async def export(request: Request, rt: AdminRuntime) -> Response:
    data = await export_all(rt.store, include_secrets=_flag(request, "secrets"))
    return Response(
        orjson.dumps(data, option=orjson.OPT_INDENT_2), 200, media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="any2api-export.json"'},
    )  # fmt: skip


async def import_(request: Request, rt: AdminRuntime) -> Response:
    mode = request.query_params.get("mode", "merge")
    if mode not in ("merge", "replace"):
        raise AdminError(400, "mode: must be merge or replace", "invalid_request", "mode")
    data = await read_json(request)
    d = validate(data, rt.provider_names)
    settings = d.get("settings") or {}
    if "models" in settings:
        validate_models(settings["models"], rt.provider_names, "settings.models")
    if "pool" in settings:
        try:
            rt.base_pool.merged(settings["pool"], "settings.pool")
        except ValueError as e:
            raise AdminError(400, str(e), "invalid_request", str(e).split(":")[0]) from None
    await rt.pool.flush()
    rep = await import_all(
        rt.store, d, replace=mode == "replace", providers=rt.provider_names,
        default_max_inflight=rt.pool.settings.default_max_inflight,
    )  # fmt: skip
    await rt.pool.reload_all()
    await rt.auth.reload()
    if rt.shared is not None:
        await rt.shared.publish({"t": "keys"})
    if rep.settings:
        await rt.settings_changed()
    return ok({"mode": mode, **rep.to_dict()})


async def providers_collection(request: Request, rt: AdminRuntime) -> Response:
    rp = rt.runtime_providers
    if request.method == "GET":
        return ok({"providers": rp.views()})
    rec = await rp.create(await read_json(request))
    return ok({"provider": rp.view(rec)})


async def provider_detail(request: Request, rt: AdminRuntime) -> Response:
    rp = rt.runtime_providers
    name = request.path_params["name"]
    if request.method == "GET":
        for v in rp.views():
            if v["name"] == name:
                return ok({"provider": v})
        raise AdminError(404, f"No provider {name!r}", "provider_not_found")
    if request.method == "DELETE":
        await rp.delete(name)
        return ok({"name": name, "deleted": True})
    rec = await rp.replace(name, await read_json(request))
    return ok({"provider": rp.view(rec)})


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
                await require_admin(request, rt)
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
