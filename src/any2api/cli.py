"""The ``any2api`` command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .cli_adapter import adapter_app
from .cli_admin import accounts_app, db_app, keys_app
from .config import Config, ConfigError, load_config
from .demo import demo_config, demo_key
from .providers.registry import create_provider
from .routing.router import Router
from .upstream import Upstream

app = typer.Typer(help="any2api: any LLM chat endpoint as the standard APIs.", no_args_is_help=True,
                  pretty_exceptions_enable=False)  # fmt: skip
err = Console(stderr=True)
out = Console()


def _load(config: Path | None, demo: bool) -> Config:
    if demo:
        return demo_config()
    if config is None:
        env = os.environ.get("ANY2API_CONFIG")
        if not env:
            err.print("[red]error:[/red] give --config FILE (or --demo to try it without an upstream)")
            raise typer.Exit(2)
        config = Path(env)
    try:
        return load_config(config)
    except ConfigError as e:
        err.print(f"[red]config error:[/red] {config}: {e}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")] = None,
    host: Annotated[str | None, typer.Option(help="bind address (default: server.host)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: server.port)")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="serve a built-in simulated provider")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="data directory (ANY2API_DATA_DIR)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="log level")] = "warning",
) -> None:
    """Run the gateway."""
    import uvicorn

    cfg = _load(config, demo)
    if data_dir is not None:
        os.environ["ANY2API_DATA_DIR"] = str(data_dir)
    os.environ["ANY2API_CONFIG"] = ":demo:" if demo else str(Path(cfg.source or "").resolve())
    h = host or cfg.server.host
    p = port if port is not None else cfg.server.port
    if demo:
        err.print(f"any2api demo on http://{h}:{p}  (API key: {demo_key()}; models: gpt-4o-mini, "
                  "deepseek-reasoner, claude-sonnet-4-20250514, ...)")  # fmt: skip
    elif not cfg.auth_keys:
        err.print(
            "[yellow]warning:[/yellow] auth.keys is empty: only keys created in the store will be accepted"
        )
    uvicorn.run(
        "any2api.api.app:app_factory", factory=True, host=h, port=p, workers=workers if workers > 1 else None,
        loop="uvloop", http="httptools", log_level=log_level, access_log=False, lifespan="on",
        timeout_graceful_shutdown=10, proxy_headers=False, server_header=False,
    )  # fmt: skip


@app.command()
def check(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")] = None,
    demo: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Validate a config file and print what is routable."""
    cfg = _load(config, demo)
    up = Upstream(cfg.server.timeouts, cfg.error_rules)
    try:
        providers = {p.name: create_provider(p, up) for p in cfg.providers}
    except (ValueError, ConfigError) as e:
        err.print(f"[red]config error:[/red] {e}")
        raise typer.Exit(2) from None
    router = Router(cfg, providers)
    t = Table(title=f"routable models ({cfg.source})")
    t.add_column("model")
    t.add_column("routes to")
    for name, _owner in router.public_models():
        chain = router.resolve(name)
        t.add_row(name, " -> ".join(f"{r.provider.name}/{r.model}" for r in chain))
    out.print(t)
    out.print(
        f"providers: {', '.join(f'{p.name} ({p.type}, {len(p.api_keys)} key(s))' for p in cfg.providers)}"
    )
    out.print(
        f"client keys in config: {len(cfg.auth_keys)}; listening on {cfg.server.host}:{cfg.server.port}"
    )


app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
app.add_typer(db_app, name="db")
app.add_typer(adapter_app, name="adapter")


def main() -> None:
    app(prog_name="any2api")


if __name__ == "__main__":
    main()
