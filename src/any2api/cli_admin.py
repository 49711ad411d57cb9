"""``any2api keys|accounts|db``: manage the store from the command line (the admin API's twin).

Every command reads the config file (``--config`` or ``ANY2API_CONFIG``) for the database, Redis and the
providers, and works on the store directly, so it needs no running gateway. With Redis configured, running
instances learn of the change at once; otherwise within their refresh interval (30 s by default)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from .admin.errors import AdminError, InputError
from .admin.models import KeyIn, parse
from .admin.probe import make_probe
from .admin.service import AccountService, KeyService, TransferService
from .admin.views import probe_view
from .compose import account_tester
from .config import Config, ConfigError, load_config
from .routing.pool import Pool
from .routing.pool_ports import Probe
from .routing.pool_settings import PoolSettings
from .store.crypto import SecretKeyError, mask
from .store.engine import StoreURLError, make_engine
from .store.migrate import current_revision, head_revision
from .store.pool_backend import StoreAccounts
from .store.seed import seed_from_config
from .store.shared import Shared
from .store.store import Store

keys_app = typer.Typer(help="Client API keys in the store.", no_args_is_help=True)
accounts_app = typer.Typer(help="Upstream accounts in the store.", no_args_is_help=True)
db_app = typer.Typer(help="The store's database.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (or ANY2API_CONFIG)")
]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="data directory (ANY2API_DATA_DIR)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _config(config: Path | None, data_dir: Path | None) -> Config:
    if data_dir is not None:
        os.environ["ANY2API_DATA_DIR"] = str(data_dir)
    path = config or (Path(os.environ["ANY2API_CONFIG"]) if os.environ.get("ANY2API_CONFIG") else None)
    if path is None:
        err.print("[red]error:[/red] give --config FILE (or set ANY2API_CONFIG)")
        raise typer.Exit(2)
    try:
        return load_config(path)
    except ConfigError as e:
        err.print(f"[red]config error:[/red] {path}: {e}")
        raise typer.Exit(2) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except (StoreURLError, SecretKeyError, InputError, AdminError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None


def _pool_base(cfg: Config) -> PoolSettings:
    section = cfg.raw.get("pool")
    return PoolSettings().merged(section if isinstance(section, dict) else None)


async def _open(cfg: Config) -> Store:
    """The store, migrated and seeded from the config file (as a starting gateway would)."""
    store = await Store.open(cfg.database_url)
    try:
        base = _pool_base(cfg)
        try:
            settings = base.merged(await store.settings.get("pool") or {})
        except ValueError:
            settings = base
        await seed_from_config(store, cfg, settings.default_max_inflight)
    except BaseException:
        await store.close()
        raise
    return store


async def _publish(cfg: Config, store: Store, event: dict[str, Any]) -> None:
    """Tell running instances (through Redis, when configured); without it they notice on their refresh."""
    if not cfg.redis_url:
        return
    shared = Shared(cfg.redis_url, store.identity)
    try:
        await shared.publish(event)
    except Exception as e:  # the change is stored; instances pick it up on their next refresh
        err.print(f"[yellow]warning:[/yellow] could not notify running instances through Redis: {e}")
    finally:
        await shared.redis.aclose()


async def _with_store(
    cfg: Config, fn: Callable[[Store], Awaitable[T]], event: dict[str, Any] | None = None
) -> T:
    store = await _open(cfg)
    try:
        result = await fn(store)
        if event is not None:
            await _publish(cfg, store, event)
        return result
    finally:
        await store.close()


async def _accounts(cfg: Config, store: Store, probe: Probe | None = None) -> AccountService:
    """The account service over a pool of this process's own (loaded, not started: no background work)."""
    names = {p.name for p in cfg.providers} | {r.name for r in await store.providers.all()}
    base = _pool_base(cfg)
    try:
        settings = base.merged(await store.settings.get("pool") or {})
    except ValueError:
        settings = base
    pool = Pool(StoreAccounts(store.accounts), cfg.providers, settings, probe=probe)
    await pool.reload()
    return AccountService(store, pool, lambda: names, source="cli")


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


# -- keys ---------------------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="a name for the key")],
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="allowed model (repeat; default: all)")
    ] = None,
    rpm: Annotated[int | None, typer.Option(help="requests per minute")] = None,
    tpm: Annotated[int | None, typer.Option(help="tokens per minute")] = None,
    budget: Annotated[int | None, typer.Option(help="token budget (total)")] = None,
    expires_in_days: Annotated[float | None, typer.Option("--expires-in-days", help="expiry")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a client key and print its secret (shown only this once)."""
    cfg = _config(config, data_dir)
    spec: dict[str, Any] = {"name": name, "models": model or None, "rpm": rpm, "tpm": tpm, "token_budget": budget,
                            "expires_in_days": expires_in_days}  # fmt: skip
    try:
        k = parse(KeyIn, {f: v for f, v in spec.items() if v is not None})
    except InputError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None

    async def create(store: Store) -> tuple[Any, str]:
        return await KeyService(store, source="cli").create_from(k)

    row, secret = _run(_with_store(cfg, create, {"t": "keys"}))
    if as_json:
        out.print_json(json.dumps({"id": row.id, "name": row.name, "key": secret}))
    else:
        out.print(f"created key [bold]{row.id}[/bold] ({row.name})")
        out.print(secret, soft_wrap=True, highlight=False)
        err.print("[dim]the secret is not stored: copy it now[/dim]")


@keys_app.command("list")
def keys_list(config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List client keys (never their secrets)."""
    cfg = _config(config, data_dir)
    rows = _run(_with_store(cfg, lambda s: KeyService(s).all()))
    if as_json:
        out.print_json(json.dumps([
            {"id": r.id, "name": r.name, "hint": r.hint, "models": sorted(r.allowed_models) if r.allowed_models else None,
             "rpm": r.rpm, "tpm": r.tpm, "token_budget": r.token_budget, "tokens_used": r.tokens_used,
             "expires_at": r.expires_at, "revoked_at": r.revoked_at, "active": r.active}
            for r in rows
        ]))  # fmt: skip
        return
    t = Table("id", "name", "hint", "models", "rpm", "tpm", "budget", "used", "expires", "status")
    for r in rows:
        status = "revoked" if r.revoked_at else ("active" if r.active else "expired")
        t.add_row(r.id, r.name, r.hint, ",".join(sorted(r.allowed_models)) if r.allowed_models else "*",
                  str(r.rpm or "-"), str(r.tpm or "-"), str(r.token_budget or "-"), str(r.tokens_used),
                  _when(r.expires_at), status)  # fmt: skip
    out.print(t)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (see `keys list`)")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a client key (requests with it get 401 from then on)."""
    cfg = _config(config, data_dir)

    async def revoke(store: Store) -> str:
        _, revoked_now = await KeyService(store, source="cli").revoke(key_id)
        return "revoked" if revoked_now else "already revoked"

    try:
        result = asyncio.run(_with_store(cfg, revoke, {"t": "key", "id": key_id}))
    except AdminError:
        err.print(f"[red]error:[/red] no key {key_id!r}")
        raise typer.Exit(1) from None
    out.print(f"{key_id}: {result}")


# -- accounts ---------------------------------------------------------------------------------------------


@accounts_app.command("import")
def accounts_import(
    file: Annotated[Path, typer.Argument(help='JSON: a list of accounts, {"accounts": [...]}, or an export')],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    replace: Annotated[bool, typer.Option(help="for an export file: remove what it does not name")] = False,
) -> None:
    """Import accounts ({provider, api_key, label, weight, max_inflight, proxy}) or a whole export."""
    cfg = _config(config, data_dir)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        err.print(f"[red]error:[/red] cannot read {file}: {e.strerror}")
        raise typer.Exit(2) from None
    except json.JSONDecodeError as e:
        err.print(f"[red]error:[/red] {file} is not valid JSON: {e}")
        raise typer.Exit(2) from None
    is_export = isinstance(data, dict) and ("keys" in data or "settings" in data or data.get("format"))

    async def do_import(store: Store) -> str:
        accounts = await _accounts(cfg, store)
        if is_export:
            transfer = TransferService(store, accounts, KeyService(store, source="cli"))
            rep = await transfer.import_(data, replace=replace)
            return (f"accounts: {rep.accounts_added} added, {rep.accounts_updated} updated, "
                    f"{rep.accounts_removed} removed; keys: {rep.keys_added} added, {rep.keys_updated} updated, "
                    f"{rep.keys_revoked} revoked" + "".join(f"\nskipped {s}" for s in rep.skipped))  # fmt: skip
        res = await accounts.import_list(data)
        return f"{len(res.added)} added, {len(res.skipped)} skipped (already stored)"

    event = {"t": "resync"} if is_export else {"t": "accounts"}
    out.print(_run(_with_store(cfg, do_import, event)))


@accounts_app.command("list")
def accounts_list(config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List accounts (credentials masked)."""
    cfg = _config(config, data_dir)

    async def rows_of(store: Store) -> list[Any]:
        return await (await _accounts(cfg, store)).all()

    rows = _run(_with_store(cfg, rows_of))
    if as_json:
        out.print_json(json.dumps([
            {"id": r.id, "provider": r.provider, "label": r.label, "api_key": mask(r.api_key), "weight": r.weight,
             "max_inflight": r.max_inflight, "enabled": r.enabled, "disabled_reason": r.disabled_reason,
             "cooldown_until": r.cooldown_until}
            for r in rows
        ]))  # fmt: skip
        return
    t = Table("id", "provider", "label", "key", "weight", "max", "status")
    for r in rows:
        cooling = r.cooldown_until is not None and r.cooldown_until > time.time()
        status = "disabled" if not r.enabled else ("cooling down" if cooling else "enabled")
        t.add_row(
            r.id, r.provider, r.label, mask(r.api_key) or "-", str(r.weight), str(r.max_inflight), status
        )
    out.print(t)


@accounts_app.command("test")
def accounts_test(
    account: Annotated[list[str] | None, typer.Argument(help="account ids or labels (default: all)")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send each account a tiny request (non-streamed and streamed) and record what the upstream says."""
    cfg = _config(config, data_dir)

    async def run_tests() -> list[dict[str, Any]]:
        store = await _open(cfg)
        tester = account_tester(cfg, store)
        gw = tester.gateway
        try:
            accounts = await _accounts(cfg, store, make_probe(gw))
            tested = await accounts.test_many(set(account or ()), concurrency=1)
            await accounts.pool.flush()
            await _publish(cfg, store, {"t": "accounts"})
            return [probe_view(st.id, r) | {"label": st.row.label} for st, r in tested]
        finally:
            await gw.close()
            await store.close()

    results = _run(run_tests())
    if as_json:
        out.print_json(json.dumps(results))
    else:
        t = Table("id", "label", "result", "non-stream", "stream", "error")
        for r in results:
            ns, s = r.get("non_stream") or {}, r.get("stream") or {}
            t.add_row(r["id"], r["label"], "[green]ok[/green]" if r["ok"] else "[red]failed[/red]",
                      "ok" if ns.get("ok") else "-", "ok" if s.get("ok") else "-", r.get("error") or "")  # fmt: skip
        out.print(t)
    if any(not r["ok"] for r in results):
        raise typer.Exit(1)


# -- db -------------------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Apply the store's migrations (the gateway also does this on start)."""
    cfg = _config(config, data_dir)

    async def up() -> tuple[str | None, str]:
        store = await Store.open(cfg.database_url)
        try:
            return await current_revision(store.engine), store.url
        finally:
            await store.close()

    rev, url = _run(up())
    out.print(f"{url}: at revision {rev}")


@db_app.command("current")
def db_current(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the store's migration revision and the newest one this version has."""
    cfg = _config(config, data_dir)

    async def cur() -> str | None:
        engine, _ = make_engine(cfg.database_url)
        try:
            return await current_revision(engine)
        except Exception:
            return None
        finally:
            await engine.dispose()

    out.print(f"current: {_run(cur())}  head: {head_revision()}")
