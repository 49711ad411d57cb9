"""``any2api adapter``: the fast loop for writing an ``http`` provider spec.

``adapter check SPEC`` validates a spec; ``adapter try SPEC --prompt "..."`` sends one request through it
and prints the raw upstream exchange beside what the gateway made of it. SPEC is a YAML file holding
one provider block (as in ``examples/``) or a whole config (``--provider`` picks the block).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .config import ConfigError, ProviderConfig, Timeouts, parse_config
from .core.accumulator import Accumulator
from .core.errors import GatewayError
from .core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from .core.parts import ReasoningPart, TextPart, ToolCallPart
from .core.request import ChatRequest, Message, ToolDef
from .providers.base import Account
from .providers.http import HttpProvider
from .providers.httpapi.spec import compile_spec
from .upstream import Upstream

adapter_app = typer.Typer(
    help="Write and debug http (2API) provider specs.", no_args_is_help=True, pretty_exceptions_enable=False
)
_out = Console()
_err = Console(stderr=True)
_SECRET_HEADER = re.compile(r"authorization|cookie|api[-_]?key|token|secret|password", re.I)


def load_provider_config(path: Path, provider: str | None = None) -> tuple[ProviderConfig, str]:
    """The provider block of ``path`` and its config path (``providers[i]``); raises ``ConfigError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("", f"cannot read {str(path)!r}: {e.strerror}") from None
    try:
        head = yaml.safe_load(re.sub(r"\$\{[^}]*\}", "x", text))
    except yaml.YAMLError as e:
        raise ConfigError("", f"invalid YAML: {e}") from None
    if isinstance(head, dict) and "providers" not in head and "type" in head:
        text = "providers:\n  -\n" + "".join(
            f"    {ln}\n" if ln.strip() else "\n" for ln in text.splitlines()
        )
    cfg = parse_config(text, str(path))
    candidates = [(i, p) for i, p in enumerate(cfg.providers) if p.type == "http"]
    if provider is not None:
        candidates = [(i, p) for i, p in candidates if p.name == provider]
    if not candidates:
        which = f"named {provider!r} " if provider else ""
        raise ConfigError("providers", f"no http provider {which}in {path}")
    i, p = candidates[0]
    return p, f"providers[{i}]"


def _tools(path: Path | None) -> list[ToolDef] | None:
    if path is None:
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as e:
        raise typer.BadParameter(f"cannot read tools from {path}: {e}") from None
    if not isinstance(data, list):
        raise typer.BadParameter("the tools file must hold a JSON list of tools")
    out = []
    for t in data:
        fn = t.get("function", t) if isinstance(t, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise typer.BadParameter(f"not a tool: {t!r}")
        params = fn.get("parameters", fn.get("input_schema")) or {"type": "object"}
        out.append(ToolDef(fn["name"], fn.get("description"), params))
    return out


def _mask(value: str, secrets: list[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            value = value.replace(s, "***" + s[-4:] if len(s) > 12 else "***")
    return value


class _Recorder:
    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.request: Any = None
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.chunks = 0

    def __call__(self, kind: str, value: Any) -> None:
        if kind == "request":
            self.request = value
        elif kind == "response":
            self.status = value.status
            self.headers = list(value.headers.items())
        elif kind == "chunk":
            self.body += value
            self.chunks += 1

    def render(self, max_chars: int) -> Group:
        lines = Text()
        req = self.request
        if req is not None:
            lines.append(f"{req.method} {_mask(req.url, self.secrets)}\n", style="bold cyan")
            for k, v in req.headers.items():
                shown = "***" if _SECRET_HEADER.search(k) else _mask(v, self.secrets)
                lines.append(f"{k}: {shown}\n", style="cyan")
            if req.body is not None:
                try:
                    pretty = orjson.dumps(orjson.loads(req.body), option=orjson.OPT_INDENT_2).decode()
                except orjson.JSONDecodeError:
                    pretty = req.body.decode("utf-8", "replace")
                lines.append(_clip(_mask(pretty, self.secrets), max_chars) + "\n")
        if self.status is not None:
            lines.append(f"\nHTTP {self.status}\n", style="bold magenta")
            for k, v in self.headers:
                lines.append(f"{k}: {v}\n", style="magenta")
            body = self.body.decode("utf-8", "replace")
            lines.append(f"({len(self.body)} bytes in {self.chunks} chunks)\n", style="dim")
            lines.append(_clip(body, max_chars))
        elif req is not None:
            lines.append("\n(no response)", style="red")
        return Group(lines)


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n] + f"\n… ({len(s) - n} more characters)"


def _describe(events: list[Event], error: GatewayError | None) -> Group:
    lines = Text()
    acc = Accumulator()
    _describe_events(events, acc, lines)
    for p in acc.response.parts:
        if isinstance(p, ReasoningPart):
            lines.append("\n[reasoning]\n", style="bold yellow")
            lines.append(p.text + "\n", style="yellow")
        elif isinstance(p, TextPart):
            lines.append("\n[text]\n", style="bold green")
            lines.append(p.text + "\n")
        elif isinstance(p, ToolCallPart):
            lines.append(f"\n[tool call] {p.name}\n", style="bold blue")
            lines.append(p.arguments + "\n", style="blue")
    if error is not None:
        lines.append(f"\nerror: {error.kind} (HTTP {error.status}", style="bold red")
        lines.append(f", code {error.code}" if error.code else "", style="bold red")
        lines.append(
            f", upstream HTTP {error.upstream_status}" if error.upstream_status else "", style="bold red"
        )
        lines.append(f")\n{error.message}\n", style="red")
    return Group(lines)


def _describe_events(events: list[Event], acc: Accumulator, lines: Text) -> None:
    """One line per part (kind, number of deltas), usage and finish; events folded into ``acc``."""
    kinds: dict[int, str] = {}
    counts: dict[int, int] = {}
    for ev in events:
        if isinstance(ev, ErrorEvent):
            continue
        acc.add(ev)
        if isinstance(ev, ResponseStart):
            lines.append(f"ResponseStart id={ev.id} model={ev.model}\n", style="dim")
        elif isinstance(ev, PartStart):
            p = ev.part
            kinds[ev.index] = p.kind if not isinstance(p, ToolCallPart) else f"tool_call {p.name} ({p.id})"
        elif isinstance(ev, PartDelta):
            counts[ev.index] = counts.get(ev.index, 0) + 1
        elif isinstance(ev, PartEnd):
            lines.append(
                f"part {ev.index}: {kinds.get(ev.index)} in {counts.get(ev.index, 0)} deltas\n", style="dim"
            )
        elif isinstance(ev, UsageEvent):
            u = ev.usage
            lines.append(f"usage: in={u.input_tokens} out={u.output_tokens}", style="dim")
            lines.append(
                f" reasoning={u.reasoning_tokens}\n" if u.reasoning_tokens is not None else "\n", style="dim"
            )
        elif isinstance(ev, Finish):
            lines.append(f"finish: {ev.reason}\n", style="bold")


@adapter_app.command("check")
def check(
    spec: Annotated[Path, typer.Argument(help="YAML file: a provider block, or a config with providers")],
    provider: Annotated[
        str | None, typer.Option(help="the provider's name (when the file has several)")
    ] = None,
) -> None:
    """Validate a spec and show what it compiles to."""
    try:
        cfg, where = load_provider_config(spec, provider)
        compiled = compile_spec(cfg, where)
    except ConfigError as e:
        _err.print(f"[red]invalid spec:[/red] {e}")
        raise typer.Exit(2) from None
    _out.print(f"[green]ok[/green] {cfg.name}: {compiled.method}, response format {compiled.response.format}, "
               f"tools {compiled.tools}")  # fmt: skip
    needs = compiled.needs
    _out.print(f"template variables used: {', '.join(sorted(needs)) or '(none)'}")
    sends_system = (
        "system" in needs
        or "transcript" in needs
        or (compiled.messages.system != "drop" and bool(needs & {"messages", "history", "prompt"}))
    )
    if compiled.tools == "emulate" and not sends_system:
        _out.print("[yellow]warning:[/yellow] tools are emulated through the system prompt, which this spec "
                   "does not send (use {{ system }}, or messages.system keep/merge)")  # fmt: skip
    if cfg.models:
        _out.print(
            "models: "
            + ", ".join(f"{m.id} ({m.display_name})" if m.display_name else m.id for m in cfg.models)
        )


@adapter_app.command("try")
def try_(
    spec: Annotated[Path, typer.Argument(help="YAML file: a provider block, or a config with providers")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="the user message")],
    model: Annotated[str | None, typer.Option(help="upstream model id (default: the spec's first)")] = None,
    system: Annotated[str | None, typer.Option(help="a system prompt")] = None,
    provider: Annotated[
        str | None, typer.Option(help="the provider's name (when the file has several)")
    ] = None,
    tools: Annotated[
        Path | None, typer.Option(help="JSON file with a list of tools (OpenAI or plain form)")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="upstream API key (default: the spec's first api_keys entry)")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="sampling temperature")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="maximum output tokens")] = None,
    max_chars: Annotated[int, typer.Option(help="clip raw bodies to this many characters")] = 6000,
) -> None:
    """Send one request through a spec; print the raw exchange beside the translated result."""
    try:
        cfg, where = load_provider_config(spec, provider)
        compiled = compile_spec(cfg, where)
    except ConfigError as e:
        _err.print(f"[red]invalid spec:[/red] {e}")
        raise typer.Exit(2) from None
    messages = [Message("system", [TextPart(system)])] if system else []
    messages.append(Message("user", [TextPart(prompt)]))
    mid = model or (cfg.models[0].id if cfg.models else "")
    if not mid:
        _err.print("[red]error:[/red] give --model (the spec lists no models)")
        raise typer.Exit(2)
    req = ChatRequest(model=mid, messages=messages, stream=True, tools=_tools(tools), temperature=temperature,
                      max_tokens=max_tokens)  # fmt: skip
    api_key = key if key is not None else (cfg.api_keys[0] if cfg.api_keys else None)
    account = Account(id=f"{cfg.name}#try", provider=cfg.name, api_key=api_key, proxy=cfg.proxy)
    recorder = _Recorder([api_key or "", *cfg.api_keys])

    async def run() -> tuple[list[Event], GatewayError | None]:
        upstream = Upstream(cfg.timeouts or Timeouts(connect=10, first_byte=120, idle=120))
        prov = HttpProvider(cfg, upstream, compiled)
        prov.trace = recorder
        events: list[Event] = []
        error: GatewayError | None = None
        try:
            async for ev in prov.stream(req, mid, account):
                events.append(ev)
                if isinstance(ev, ErrorEvent):
                    error = ev.error
        except GatewayError as e:
            error = e
        finally:
            await upstream.close()
        return events, error

    events, error = asyncio.run(run())
    table = Table(title=f"{cfg.name} / {mid}", expand=True, show_lines=False)
    table.add_column("upstream exchange (raw)", ratio=1, overflow="fold")
    table.add_column("translated", ratio=1, overflow="fold")
    table.add_row(recorder.render(max_chars), _describe(events, error))
    _out.print(table)
    if error is not None:
        raise typer.Exit(1)
