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

from .config import Config, ConfigError, load_config
from .store.crypto import SecretKeyError
from .store.engine import StoreURLError
from .store.inputs import InputError, parse_account, parse_key
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
    except (StoreURLError, SecretKeyError, InputError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None


async def _open(cfg: Config) -> Store:
    """The store, migrated and seeded from the config file (as a starting gateway would)."""
    from .routing.pool_settings import PoolSettings
    from .store.seed import seed_from_config

    store = await Store.open(cfg.database_url)
    try:
        section = cfg.raw.get("pool")
        base = PoolSettings().merged(section if isinstance(section, dict) else None)
        try:
            settings = base.merged(await store.settings.get("pool") or {})
        except ValueError:
            settings = base
        await seed_from_config(store, cfg, settings.default_max_inflight)
    except BaseException:
        await store.close()
        raise
    return store


async def _with_store(
    cfg: Config, fn: Callable[[Store], Awaitable[T]], event: dict[str, Any] | None = None
) -> T:
    store = await _open(cfg)
    try:
        result = await fn(store)
        if event is not None and cfg.redis_url:
            shared = Shared(cfg.redis_url, store.identity)
            try:
                await shared.publish(event)
            except Exception as e:  # the change is stored; instances pick it up on their next refresh
                err.print(f"[yellow]warning:[/yellow] could not notify running instances through Redis: {e}")
            finally:
                await shared.redis.aclose()
        return result
    finally:
        await store.close()


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
        k = parse_key({f: v for f, v in spec.items() if v is not None})
    except InputError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None

    async def create(store: Store) -> tuple[Any, str]:
        return await store.keys.create(
            k.name, allowed_models=k.allowed_models, rpm=k.rpm, tpm=k.tpm, token_budget=k.token_budget,
            expires_at=k.expires_at, source="cli",
        )  # fmt: skip

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
    rows = _run(_with_store(cfg, lambda s: s.keys.all()))
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
        if await store.keys.revoke(key_id) is not None:
            return "revoked"
        return "already revoked" if await store.keys.get(key_id) is not None else "missing"

    result = _run(_with_store(cfg, revoke, {"t": "key", "id": key_id}))
    if result == "missing":
        err.print(f"[red]error:[/red] no key {key_id!r}")
        raise typer.Exit(1)
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
    providers = {p.name for p in cfg.providers}
    is_export = isinstance(data, dict) and ("keys" in data or "settings" in data or data.get("format"))

    async def do_import(store: Store) -> str:
        if is_export:
            from .store.portable import import_all

            rep = await import_all(store, data, replace=replace, providers=providers)
            return (f"accounts: {rep.accounts_added} added, {rep.accounts_updated} updated, "
                    f"{rep.accounts_removed} removed; keys: {rep.keys_added} added, {rep.keys_updated} updated, "
                    f"{rep.keys_revoked} revoked" + "".join(f"\nskipped {s}" for s in rep.skipped))  # fmt: skip
        items = data.get("accounts") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InputError("accounts", 'the file must hold a list of accounts or {"accounts": [...]}')
        parsed = [parse_account(a, f"accounts[{i}]", providers) for i, a in enumerate(items)]
        rows = [
            store.accounts.new(a.provider, a.api_key, label=a.label or "", weight=a.weight or 1,
                               max_inflight=a.max_inflight if a.max_inflight is not None else 2,
                               proxy=a.proxy, enabled=a.enabled if a.enabled is not None else True, source="cli")
            for a in parsed
        ]  # fmt: skip
        added, skipped = await store.accounts.add_many(rows)
        return f"{len(added)} added, {len(skipped)} skipped (already stored)"

    out.print(_run(_with_store(cfg, do_import, {"t": "accounts"})))


@accounts_app.command("list")
def accounts_list(config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List accounts (credentials masked)."""
    from .store.crypto import mask

    cfg = _config(config, data_dir)
    rows = _run(_with_store(cfg, lambda s: s.accounts.all()))
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
        from .admin.routes import probe_view
        from .compose import account_tester

        store = await _open(cfg)
        tester = account_tester(cfg, store)
        pool = tester.pool
        try:
            await pool.reload()
            wanted = set(account or [])
            results = []
            for st in pool.account_states():
                if wanted and st.id not in wanted and st.row.label not in wanted:
                    continue
                if not st.served:
                    continue
                results.append(probe_view(st.id, await pool.test(st.id)) | {"label": st.row.label})
            await pool.flush()
            if cfg.redis_url:
                shared = Shared(cfg.redis_url, store.identity)
                try:
                    await shared.publish({"t": "accounts"})
                except Exception:
                    pass
                finally:
                    await shared.redis.aclose()
            return results
        finally:
            await tester.gateway.close()
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
    from .store.migrate import current_revision

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
    from .store.engine import make_engine
    from .store.migrate import current_revision, head_revision

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
