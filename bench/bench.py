"""any2api benchmark driver (started by bench/run; standard library only).

Starts each target pinned to one core, drives it with wrk from the other core, checks every answer
once for correctness, and prints one table. See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
RESULTS = BENCH / "results"
LITELLM_REQ = "litellm[proxy]==1.100.5"
PT_DEFAULTS = {"aiohttp": "3.14.5", "orjson": "3.13.0", "uvloop": "0.23.0"}

SERVER_CPU = "1"
LOAD_CPU = "0"
CLIENT_KEY = "sk-bench"
MODEL = "gpt-4o-mini"

TARGETS = [
    "nginx", "passthrough", "any2api-fast", "any2api-storekey", "any2api-translate", "any2api-http",
    "litellm", "any2api-anthropic",
]  # fmt: skip
SCENARIOS = ["json", "sse"]
TEXT_PIECES = [
    "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ",", " then",
    " naps", " in", " the", " warm", " afternoon", " sun", ".",
]  # fmt: skip
TEXT = "".join(TEXT_PIECES)
USAGE = {"prompt_tokens": 24, "completion_tokens": len(TEXT_PIECES), "total_tokens": 24 + len(TEXT_PIECES)}


# ---------------------------------------------------------------- canned upstream bodies


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def canned_json() -> str:
    return _compact(
        {
            "id": "chatcmpl-bench0001",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": TEXT, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
            "service_tier": "default",
            "system_fingerprint": "fp_bench",
        }
    )


def canned_sse() -> str:
    def chunk(
        delta: dict[str, Any], finish: str | None = None, choices: bool = True, usage: Any = None
    ) -> str:
        body: dict[str, Any] = {
            "id": "chatcmpl-bench0001",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18",
            "service_tier": "default",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            if choices
            else [],
            "usage": usage,
        }
        return f"data: {_compact(body)}\n\n"

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    out += [chunk({"content": piece}) for piece in TEXT_PIECES]
    out.append(chunk({}, finish="stop"))
    out.append(chunk({}, choices=False, usage=USAGE))
    out.append("data: [DONE]\n\n")
    return "".join(out)


def client_body(scenario: str, model: str) -> bytes:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Describe a fox in one sentence."},
        ],
        "temperature": 0.2,
        "max_tokens": 64,
    }
    if scenario == "sse":
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


def anthropic_body(model: str) -> bytes:
    return json.dumps(
        {
            "model": model,
            "max_tokens": 64,
            "system": "You are a terse assistant.",
            "messages": [{"role": "user", "content": "Describe a fox in one sentence."}],
            "stream": True,
        }
    ).encode()


# ---------------------------------------------------------------- answer checks (one request per row)


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    events: list[tuple[str | None, str]] = []
    for block in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


def check_openai_json(raw: bytes) -> tuple[list[str], int]:
    problems = []
    doc = json.loads(raw)
    content = doc.get("choices", [{}])[0].get("message", {}).get("content")
    if content != TEXT:
        problems.append(f"content {content!r} != canned text")
    if not doc.get("usage"):
        problems.append("usage missing")
    return problems, 1


def check_openai_sse(raw: bytes) -> tuple[list[str], int]:
    problems: list[str] = []
    events = sse_events(raw)
    if not events or events[-1][1] != "[DONE]":
        problems.append("stream does not end with data: [DONE]")
    text, usage = [], None
    for _, data in events:
        if data == "[DONE]":
            continue
        doc = json.loads(data)
        for choice in doc.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
        usage = doc.get("usage") or usage
    if "".join(text) != TEXT:
        problems.append(f"streamed text {''.join(text)!r} != canned text")
    if not usage:
        problems.append("no usage chunk")
    return problems, len(events)


def check_anthropic_sse(raw: bytes) -> tuple[list[str], int]:
    problems: list[str] = []
    events = sse_events(raw)
    names = [name for name, _ in events]
    text = []
    for name, data in events:
        doc = json.loads(data)
        if name == "content_block_delta" and doc.get("delta", {}).get("type") == "text_delta":
            text.append(doc["delta"]["text"])
    if not names or names[0] != "message_start" or names[-1] != "message_stop":
        problems.append(f"event order {names[:2]}...{names[-2:]}")
    if "".join(text) != TEXT:
        problems.append(f"streamed text {''.join(text)!r} != canned text")
    return problems, len(events)


# ---------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


PROCS: list[Proc] = []


def start(name: str, argv: list[str], cpu: str | None, env: dict[str, str] | None = None) -> Proc:
    log = WORK / "logs" / f"{name}.log"
    cmd = (["taskset", "-c", cpu] if cpu is not None else []) + argv
    with log.open("wb") as fh:
        popen = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    proc = Proc(name, popen, log)
    PROCS.append(proc)
    return proc


def stop(proc: Proc) -> None:
    if proc in PROCS:
        PROCS.remove(proc)
    if proc.popen.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.popen.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.popen.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_all() -> None:
    for proc in list(PROCS):
        stop(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(proc: Proc, port: int, timeout: float) -> str | None:
    """None when the port accepts connections; otherwise why not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            return (
                f"exited with {proc.popen.returncode} (log: {proc.log.relative_to(REPO)}): {tail(proc.log)}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return None
        except OSError:
            time.sleep(0.2)
    return f"not listening after {timeout:.0f}s (log: {proc.log.relative_to(REPO)}): {tail(proc.log)}"


def tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip()[:200] for line in text[-lines:])


def process_tree(pid: int) -> list[int]:
    """pid and all its live descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_quiet(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a command to completion (its own process group, killed at the timeout or when we exit)."""
    try:
        popen = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        return 127, str(exc)
    proc = Proc(argv[0], popen, Path(os.devnull))
    PROCS.append(proc)
    try:
        out, _ = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        return 124, f"timed out after {timeout:.0f}s"
    finally:
        if proc in PROCS:
            PROCS.remove(proc)
    return popen.returncode, out.decode("utf-8", "replace")


# ---------------------------------------------------------------- environments for the targets


def pip_install(
    venv: Path, reqs: list[str], extra: list[str] | None = None, timeout: float = 1800
) -> str | None:
    """Create venv if needed and install reqs once (stamped); None on success, else the reason."""
    stamp = venv / ".bench-installed"
    want = " ".join(reqs + (extra or []))
    if stamp.exists() and stamp.read_text() == want:
        return None
    if not (venv / "bin" / "python").exists():
        code, out = run_quiet([sys.executable, "-m", "venv", str(venv)], 300)
        if code:
            return f"venv creation failed: {out.strip()[-200:]}"
    log(f"installing {want} into {venv.relative_to(REPO)} ...")
    argv = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    code, out = run_quiet([*argv, *(extra or []), *reqs], timeout)
    if code:
        lines = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("WARNING: Location")]
        return f"pip install failed: {' '.join(lines[-2:])[-300:]}"
    stamp.write_text(want)
    return None


def constraint_pins() -> dict[str, str]:
    pins = dict(PT_DEFAULTS)
    path = REPO / "constraints.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, version = line.strip().partition("==")
            if name.lower() in pins and version:
                pins[name.lower()] = version
    return pins


def any2api_bin() -> tuple[str | None, str]:
    """The gateway executable and, if it cannot be used, why."""
    explicit = os.environ.get("ANY2API_BIN")
    candidates = [Path(explicit)] if explicit else [REPO / ".venv" / "bin" / "any2api"]
    binary = next((c for c in candidates if c.exists()), None)
    if binary is None and not explicit:
        venv = BENCH / ".venv-any2api"
        constraints = ["-c", str(REPO / "constraints.txt")] if (REPO / "constraints.txt").exists() else []
        why = pip_install(venv, ["-e", str(REPO)], constraints)
        if why:
            return None, why
        binary = venv / "bin" / "any2api"
    if binary is None or not binary.exists():
        return None, f"{binary or candidates[0]} not found"
    code, out = run_quiet([str(binary), "serve", "--help"], 60)
    if code:
        return None, f"`any2api serve --help` exited {code}: {out.strip().splitlines()[-1:] or ''}"
    return str(binary), ""


# ---------------------------------------------------------------- wrk


@dataclass
class Load:
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int = 0
    non2xx: int = 0
    sock_errors: int = 0
    raw: str = ""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> Load:
    load = Load(raw=out)
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        load.rps = float(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        load.requests = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        load.non2xx = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        load.sock_errors = sum(int(x) for x in m.groups())
    if m := re.search(r"^\s+50%\s+(\S+)", out, re.M):
        load.p50_ms = _ms(m.group(1))
    if m := re.search(r"^\s+99%\s+(\S+)", out, re.M):
        load.p99_ms = _ms(m.group(1))
    return load


def lua_script(name: str, body: bytes, headers: dict[str, str]) -> Path:
    body_path = WORK / "lua" / f"{name}.body"
    body_path.write_bytes(body)
    lines = [
        f'local f = assert(io.open("{body_path}", "rb"))',
        'wrk.method = "POST"',
        'wrk.body = f:read("*a")',
        "f:close()",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    path = WORK / "lua" / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(url: str, script: Path, conns: int, seconds: float, latency: bool) -> Load:
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds:g}s", "--timeout", "10s"]
    argv += ["--latency"] if latency else []
    argv += ["-s", str(script), url]
    code, out = run_quiet(argv, seconds + 30)
    load = parse_wrk(out)
    if code or load.rps is None:
        load.rps = None
        load.raw = f"wrk exited {code}: {out.strip()[-300:]}"
    return load


# ---------------------------------------------------------------- rows


@dataclass
class Row:
    target: str
    scenario: str
    rps: float | None = None
    p50: float | None = None
    p99: float | None = None
    rss: float | None = None
    cpu_us: float | None = None
    errors: int = 0
    events: int = 0
    na: str = ""
    notes: list[str] = field(default_factory=list)
    added50: float | None = None
    added99: float | None = None


@dataclass
class Plan:
    quick: bool
    warmup: float
    duration: float
    latency_duration: float
    conns: int
    upstream_port: int = 0


@dataclass
class Launch:
    """How to start one target for one scenario: argv/env, the URL wrk hits, the request, the checker."""

    argv: list[str]
    port: int
    url: str
    body: bytes
    headers: dict[str, str]
    check: Callable[[bytes], tuple[list[str], int]]
    env: dict[str, str] | None = None
    ready_timeout: float = 60.0
    reject_headers: dict[str, str] | None = None
    """If set: credentials the target must refuse with 401 (checked once, before the load)."""


def nginx_conf(port: int, tag: str) -> Path:
    www = WORK / "www"
    user = "user root;\n" if os.geteuid() == 0 else ""
    tmp = WORK / "nginx-tmp" / tag
    tmp.mkdir(parents=True, exist_ok=True)
    conf = f"""{user}worker_processes 1;
daemon off;
pid {WORK}/nginx-{tag}.pid;
error_log {WORK}/logs/nginx-{tag}.error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  types {{ }}
  etag off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {www};
    # static files answer POST with 405; turn that into the file itself
    location /json/ {{ default_type application/json; error_page 405 =200 $uri; }}
    location /sse/ {{ default_type text/event-stream; error_page 405 =200 $uri; }}
  }}
}}
"""
    path = WORK / f"nginx-{tag}.conf"
    path.write_text(conf)
    return path


def write_upstream_files() -> None:
    for prefix, body in (("json", canned_json()), ("sse", canned_sse())):
        path = WORK / "www" / prefix / "v1" / "chat" / "completions"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


def upstream_base(plan: Plan, scenario: str) -> str:
    return f"http://127.0.0.1:{plan.upstream_port}/{'sse' if scenario == 'sse' else 'json'}/v1"


def http_provider(scenario: str) -> str:
    """The `http` (2API) provider blocks after `type: http`: examples/edgeone/provider.yaml adapted to
    the canned upstream (OpenAI-shaped body at /chat/completions; the answer is what nginx serves for
    the scenario: OpenAI SSE chunks for sse, one OpenAI chat.completion JSON for json)."""
    if scenario == "sse":
        answer = """      format: sse
      text: choices[0].delta.content
      reasoning: choices[0].delta.reasoning_content"""
    else:
        answer = """      format: json
      text: choices[0].message.content
      reasoning: choices[0].message.reasoning_content"""
    return f"""    error_rules:
      - {{match: "Daily usage limit exceeded", kind: quota_exceeded}}
    request:
      path: /chat/completions
      body:
        model: "{{{{ model }}}}"
        messages: "{{{{ messages }}}}"
        stream: "{{{{ stream }}}}"
        temperature: "{{{{ temperature }}}}"
        top_p: "{{{{ top_p }}}}"
        max_tokens: "{{{{ max_tokens }}}}"
        stop: "{{{{ stop }}}}"
    messages:
      images: openai
    response:
{answer}
      id: id
      finish_reason: choices[0].finish_reason
      usage: {{input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens}}
      error: error.message
    tools: emulate
"""


def any2api_config(plan: Plan, scenario: str, port: int, target: str, tag: str) -> Path:
    """Config for one any2api target: client keys in the file, except any2api-storekey (store only);
    an `openai` provider (pass-through unless any2api-translate), or an `http` one for any2api-http."""
    keys = "[]" if target == "any2api-storekey" else f"[{CLIENT_KEY}]"
    if target == "any2api-http":
        provider = f"    type: http\n{PROVIDER_COMMON.format(base=upstream_base(plan, scenario))}"
        provider += http_provider(scenario)
    else:
        passthrough = "false" if target == "any2api-translate" else "true"
        provider = f"    type: openai\n{PROVIDER_COMMON.format(base=upstream_base(plan, scenario))}"
        provider += f"    passthrough: {passthrough}\n"
    # pool: no per-account in-flight cap (the default of 2 would turn a 50-connection load into a queue)
    text = f"""server: {{host: 127.0.0.1, port: {port}}}
auth:
  keys: {keys}
pool: {{default_max_inflight: 0}}
providers:
  - name: up
{provider}"""
    path = WORK / f"any2api-{tag}.yaml"
    path.write_text(text)
    return path


PROVIDER_COMMON = f"""    base_url: {{base}}
    api_keys: [sk-upstream]
    models: [{MODEL}]
"""


def create_store_key(binary: str, cfg: Path, data_dir: Path) -> tuple[str | None, str]:
    """`any2api keys create --json` in a fresh data dir: (the secret, "") or (None, why not)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    env = clean_env(ANY2API_DATA_DIR=str(data_dir))
    argv = [binary, "keys", "create", "--config", str(cfg), "--json", "bench"]
    code, out = run_quiet(argv, 120, env=env)
    if code:
        return None, f"`any2api keys create` exited {code}: {out.strip()[-300:]}"
    try:
        secret = json.loads(out[out.index("{") : out.rindex("}") + 1])["key"]
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"`any2api keys create --json` printed no key ({exc!r}): {out.strip()[-200:]}"
    if not isinstance(secret, str) or not secret or secret == CLIENT_KEY:
        return None, f"`any2api keys create --json` printed an unusable key: {out.strip()[-200:]}"
    return secret, ""


def litellm_config(plan: Plan, scenario: str, tag: str) -> Path:
    text = f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: {upstream_base(plan, scenario)}
      api_key: sk-upstream
litellm_settings:
  telemetry: false
  set_verbose: false
  turn_off_message_logging: true
  request_timeout: 60
general_settings:
  master_key: {CLIENT_KEY}
  disable_spend_logs: true
  disable_error_logs: true
  store_model_in_db: false
  background_health_checks: false
"""
    path = WORK / f"litellm-{tag}.yaml"
    path.write_text(text)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "LITELLM_", "OPENAI_", "ANTHROPIC_", "ANY2API_"))
    }
    env.update(extra)
    return env


BEARER = {"Authorization": f"Bearer {CLIENT_KEY}"}
BYTE_EXACT = ("nginx", "passthrough", "any2api-fast", "any2api-storekey")
"""Targets whose answer must be the upstream's bytes, unchanged."""


def launch(target: str, scenario: str, plan: Plan, ctx: dict[str, Any]) -> Launch | str:
    """How to start target for scenario, or why it cannot run."""
    port = free_port()
    tag = f"{target}-{scenario}"
    path = "/v1/chat/completions"
    check = check_openai_sse if scenario == "sse" else check_openai_json
    if target == "nginx":
        conf = nginx_conf(port, "direct")
        prefix = "/sse" if scenario == "sse" else "/json"
        return Launch(
            ["nginx", "-e", "stderr", "-c", str(conf)],
            port,
            f"http://127.0.0.1:{port}{prefix}{path}",
            client_body(scenario, MODEL),
            BEARER,
            check,
            ready_timeout=10,
        )
    url = f"http://127.0.0.1:{port}{path}"
    if target == "passthrough":
        if ctx.get("pt_error"):
            return str(ctx["pt_error"])
        python = str(BENCH / ".venv-pt" / "bin" / "python")
        argv = [python, str(BENCH / "passthrough.py"), str(port), upstream_base(plan, scenario)]
        return Launch(argv, port, url, client_body(scenario, MODEL), BEARER, check, ready_timeout=30)
    if target.startswith("any2api"):
        if not ctx.get("any2api"):
            return str(ctx.get("any2api_error") or "any2api not available")
        cfg = any2api_config(plan, scenario, port, target, tag)
        argv = [ctx["any2api"], "serve", "--config", str(cfg), "--port", str(port), "--workers", "1"]
        data_dir = WORK / "any2api-data" / tag
        env = clean_env(ANY2API_DATA_DIR=str(data_dir))
        if target == "any2api-storekey":
            secret, why = create_store_key(ctx["any2api"], cfg, data_dir)
            if secret is None:
                return why
            return Launch(
                argv, port, url, client_body(scenario, f"up/{MODEL}"), {"Authorization": f"Bearer {secret}"},
                check, env=env, reject_headers=BEARER,
            )  # fmt: skip
        if target == "any2api-anthropic":
            headers = {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01"}
            return Launch(
                argv, port, f"http://127.0.0.1:{port}/v1/messages", anthropic_body(f"up/{MODEL}"), headers,
                check_anthropic_sse, env=env,
            )  # fmt: skip
        return Launch(argv, port, url, client_body(scenario, f"up/{MODEL}"), BEARER, check, env=env)
    if target == "litellm":
        if ctx.get("litellm_error"):
            return str(ctx["litellm_error"])
        cfg = litellm_config(plan, scenario, tag)
        argv = [str(BENCH / ".venv-litellm" / "bin" / "litellm"), "--config", str(cfg), "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--num_workers", "1", "--telemetry", "False"]
        env = clean_env(
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            LITELLM_LOG="ERROR",
            LITELLM_MODE="PRODUCTION",
            DISABLE_ADMIN_UI="True",
            NO_DOCS="True",
        )
        return Launch(
            argv, port, url, client_body(scenario, MODEL), BEARER, check, env=env, ready_timeout=240
        )
    return f"unknown target {target}"


def probe(lc: Launch, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", lc.port, timeout=30)
    try:
        path = lc.url.split(str(lc.port), 1)[1]
        sent = {"Content-Type": "application/json", **(lc.headers if headers is None else headers)}
        conn.request("POST", path, body=lc.body, headers=sent)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read()
    finally:
        conn.close()


def measure(target: str, scenario: str, plan: Plan, ctx: dict[str, Any]) -> Row:
    row = Row(target, scenario)
    lc = launch(target, scenario, plan, ctx)
    if isinstance(lc, str):
        row.na = lc
        return row
    proc = start(f"{target}-{scenario}", lc.argv, SERVER_CPU, lc.env)
    try:
        why = wait_ready(proc, lc.port, lc.ready_timeout)
        if why:
            row.na = f"did not start: {why}"
            return row
        try:
            status, ctype, raw = probe(lc)
        except (OSError, http.client.HTTPException) as exc:
            row.na = f"probe failed: {exc!r}"
            return row
        if status in (404, 405) and target == "any2api-anthropic":
            row.na = f"skipped: gateway does not serve /v1/messages yet (HTTP {status})"
            return row
        if status != 200:
            row.na = f"probe: HTTP {status} {raw[:300].decode('utf-8', 'replace')}"
            return row
        problems = check_answer(target, scenario, lc, ctype, raw, row)
        row.notes += problems
        log(f"  {target}/{scenario}: up on :{lc.port}, answer {problems or 'OK'}; load ...")
        measure_load(target, scenario, lc, plan, proc, row)
        return row
    finally:
        stop(proc)


def check_answer(target: str, scenario: str, lc: Launch, ctype: str, raw: bytes, row: Row) -> list[str]:
    """What is wrong with a target's first answer (and with its answer to a key it must refuse)."""
    try:
        problems, row.events = lc.check(raw)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        problems = [f"unparseable answer ({exc!r}): {raw[:200]!r}"]
    want_type = "text/event-stream" if lc.check is not check_openai_json else "application/json"
    if not ctype.startswith(want_type):
        problems.append(f"Content-Type {ctype!r}, expected {want_type}")
    if target in BYTE_EXACT:
        canned = (canned_sse() if scenario == "sse" else canned_json()).encode()
        if raw != canned:
            at = next(
                (i for i, (x, y) in enumerate(zip(raw, canned, strict=False)) if x != y),
                min(len(raw), len(canned)),
            )
            problems.append(
                f"pass-through body differs from the upstream's ({len(raw)} vs {len(canned)} B, first at byte {at}: "
                f"{raw[max(0, at - 20) : at + 40]!r} vs {canned[max(0, at - 20) : at + 40]!r})"
            )
    if lc.reject_headers is not None:
        try:
            bad_status, _, bad_raw = probe(lc, lc.reject_headers)
            if bad_status != 401:
                problems.append(
                    f"a key that is not in the store got HTTP {bad_status}, expected 401: "
                    f"{bad_raw[:200].decode('utf-8', 'replace')}"
                )
        except (OSError, http.client.HTTPException) as exc:
            problems.append(f"wrong-key probe failed: {exc!r}")
    return problems


def measure_load(target: str, scenario: str, lc: Launch, plan: Plan, proc: Proc, row: Row) -> None:
    """Warm up, then throughput at ``plan.conns`` connections (with CPU per request) and latency at one."""
    script = lua_script(f"{target}-{scenario}", lc.body, lc.headers)
    wrk(lc.url, script, plan.conns, plan.warmup, latency=False)
    cpu0 = cpu_seconds(proc.popen.pid)
    hi = wrk(lc.url, script, plan.conns, plan.duration, latency=False)
    if hi.requests:
        row.cpu_us = (cpu_seconds(proc.popen.pid) - cpu0) / hi.requests * 1e6
    lo = wrk(lc.url, script, 1, plan.latency_duration, latency=True)
    row.rss = rss_mb(proc.popen.pid)
    for run, label in ((hi, f"c{plan.conns}"), (lo, "c1")):
        if run.rps is None:
            row.notes.append(f"{label}: {run.raw}")
        row.errors += run.non2xx + run.sock_errors
        if run.non2xx or run.sock_errors:
            row.notes.append(f"{label}: {run.non2xx} non-2xx, {run.sock_errors} socket errors")
    row.rps, row.p50, row.p99 = hi.rps, lo.p50_ms, lo.p99_ms
    if proc.popen.poll() is not None:
        row.notes.append(f"server exited during the run: {tail(proc.log)}")


# ---------------------------------------------------------------- report


def fmt(value: float | None, spec: str, signed: bool = False) -> str:
    if value is None:
        return "-"
    return format(value, ("+" if signed else "") + spec)


def render(rows: list[Row], plan: Plan, meta: list[str]) -> str:
    head = [
        "target",
        "scenario",
        f"req/s @{plan.conns}",
        "p50 @1",
        "p99 @1",
        "added p50",
        "added p99",
        "CPU us/req",
        "RSS MB",
        "errors",
    ]
    body = []
    for r in rows:
        if r.na:
            body.append([r.target, r.scenario, f"n/a ({r.na})"])
            continue
        body.append(
            [
                r.target,
                r.scenario,
                fmt(r.rps, ",.0f"),
                fmt(r.p50, ".3f") + " ms" if r.p50 is not None else "-",
                fmt(r.p99, ".3f") + " ms" if r.p99 is not None else "-",
                fmt(r.added50, ".3f", True) + " ms" if r.added50 is not None else "-",
                fmt(r.added99, ".3f", True) + " ms" if r.added99 is not None else "-",
                fmt(r.cpu_us, ".0f"),
                fmt(r.rss, ".1f"),
                str(r.errors),
            ]
        )
    widths = [
        max(len(x[i]) for x in [head, *body] if i < len(x) and (i < 2 or len(x) == len(head)))
        for i in range(len(head))
    ]
    right = {2, 3, 4, 5, 6, 7, 8, 9}

    def line(cells: list[str]) -> str:
        if len(cells) < len(head):
            return " | ".join(c.ljust(widths[i]) for i, c in enumerate(cells[:2])) + " | " + cells[2]
        return " | ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        )

    out = [*meta, "", line(head), "-+-".join("-" * w for w in widths)]
    out += [line(b) for b in body]
    out += ["", *ratio_lines(rows)]
    for r in rows:
        if r.target != "any2api-anthropic" or r.na or r.rps is None:
            continue
        out.append(
            f"anthropic client -> openai upstream (stream): {r.rps * r.events:,.0f} SSE events/s "
            f"({r.events} events per response), added p50 {fmt(r.added50, '.3f', True)} ms vs direct nginx sse"
        )
    notes = [(r, n) for r in rows for n in r.notes]
    if notes:
        out += ["", "notes:"] + [f"  {r.target}/{r.scenario}: {n}" for r, n in notes]
    return "\n".join(out) + "\n"


def ratio_lines(rows: list[Row]) -> list[str]:
    """The issue's targets for the fast path (the same ratios for the translating path, for information),
    then what store-backed keys cost over keys in the file and the http provider over the native one.

    Each req/s ratio is followed by the same ratio computed from CPU time per request, which a busy
    machine disturbs much less than req/s.
    """
    out: list[str] = []
    for scenario in SCENARIOS:
        for name in ("any2api-fast", "any2api-translate"):
            out += _target_ratios(rows, name, scenario)
    # what a feature costs next to its baseline: keys in the store vs in the file (both pass-through),
    # the configurable http provider vs the native one's translating path (both parse -> hub -> render)
    for scenario in SCENARIOS:
        for name, base in (("any2api-storekey", "any2api-fast"), ("any2api-http", "any2api-translate")):
            line = _feature_cost(rows, name, base, scenario)
            if line:
                out.append(line)
    return out


def _measured(rows: list[Row], target: str, scenario: str) -> Row | None:
    r = next((r for r in rows if r.target == target and r.scenario == scenario), None)
    return r if r and not r.na and r.rps else None


def _by_cpu(a: Row, b: Row, spec: str, unit: str = "") -> str:
    text = f"  by CPU/req {format(b.cpu_us / a.cpu_us, spec)}{unit}" if a.cpu_us and b.cpu_us else ""
    return text + ("  [a row had errors: not valid]" if a.errors or b.errors else "")


def _target_ratios(rows: list[Row], name: str, scenario: str) -> list[str]:
    """``name`` against litellm and the aiohttp pass-through (req/s, and added p50 vs pass-through)."""
    a = _measured(rows, name, scenario)
    if not a or a.rps is None:
        return []
    out = []
    goal = name == "any2api-fast"
    lit, pt = _measured(rows, "litellm", scenario), _measured(rows, "passthrough", scenario)
    label = f"{scenario:4} {name:17}"
    if lit and lit.rps:
        verdict = ("  (target >= 25x)" if goal else "") + _by_cpu(a, lit, ".1f", "x")
        out.append(f"{label} / litellm     req/s     {a.rps / lit.rps:7.1f}x{verdict}")
    if pt and pt.rps:
        verdict = ("  (target >= 75%)" if goal else "") + _by_cpu(a, pt, ".0%")
        out.append(f"{label} / passthrough req/s     {a.rps / pt.rps:7.0%} {verdict}")
    if pt and a.added50 is not None and pt.added50:
        verdict = "  (target <= 1.3x)" if goal else ""
        out.append(f"{label} / passthrough added p50 {a.added50 / pt.added50:7.2f}x{verdict}")
    return out


def _feature_cost(rows: list[Row], name: str, base: str, scenario: str) -> str | None:
    a, b = _measured(rows, name, scenario), _measured(rows, base, scenario)
    if not a or not b or a.rps is None or b.rps is None:
        return None
    label = f"{scenario:4} {name:17}"
    line = f"{label} / {base.removeprefix('any2api-'):11} req/s     {a.rps / b.rps:7.0%} "
    if a.cpu_us and b.cpu_us:
        line += (
            f"  by CPU/req {b.cpu_us / a.cpu_us:.0%}  CPU/req {a.cpu_us / b.cpu_us:.2f}x "
            f"({a.cpu_us:.0f} vs {b.cpu_us:.0f} us, {a.cpu_us - b.cpu_us:+.0f} us/req)"
        )
    if a.errors or b.errors:
        line += "  [a row had errors: not valid]"
    return line


# ---------------------------------------------------------------- main


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/run", description="any2api throughput/latency benchmark")
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    ap.add_argument(
        "--only",
        default=os.environ.get("BENCH_ONLY", ""),
        help=f"comma list of targets (prefixes match): {','.join(TARGETS)}; nginx always runs (baseline)",
    )
    ap.add_argument("--scenarios", default=os.environ.get("BENCH_SCENARIOS", "json,sse"))
    ap.add_argument("--duration", type=float, default=None, help="seconds per load run (default 10, quick 3)")
    ap.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "50")))
    ap.add_argument("--skip-install", action="store_true", help="use the venvs as they are")
    return ap.parse_args(argv)


def select_targets(only: str) -> list[str]:
    if not only.strip():
        return list(TARGETS)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if not any(t.startswith(w) for t in TARGETS)]
    if unknown:
        raise SystemExit(f"unknown target(s) {unknown}; choose from {TARGETS}")
    return [t for t in TARGETS if t == "nginx" or any(t.startswith(w) for w in wanted)]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    targets = select_targets(args.only)
    scenarios = [s for s in args.scenarios.split(",") if s in SCENARIOS]
    duration = args.duration or (3.0 if args.quick else 10.0)
    plan = Plan(args.quick, 1.0 if args.quick else 3.0, duration, duration, args.connections)
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (bench/run installs it with apt-get)")
    pin_cpus()
    prepare_work_dirs()
    ctx = install_targets(targets, args.skip_install)

    write_upstream_files()
    plan.upstream_port = free_port()
    upstream = start(
        "nginx-upstream",
        ["nginx", "-e", "stderr", "-c", str(nginx_conf(plan.upstream_port, "upstream"))],
        LOAD_CPU,
    )
    why = wait_ready(upstream, plan.upstream_port, 10)
    if why:
        raise SystemExit(f"upstream nginx: {why}")

    rows: list[Row] = []
    started = time.time()
    load_before = os.getloadavg()[0]
    for target in targets:
        for scenario in scenarios:
            if target == "any2api-anthropic" and scenario != "sse":
                continue
            log(f"{target} / {scenario}")
            rows.append(measure(target, scenario, plan, ctx))
    stop(upstream)
    added_latency(rows)

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = [
        f"any2api bench {stamp}  ({'quick, ' if args.quick else ''}{plan.duration:g}s per load run, "
        f"{plan.warmup:g}s warm-up; server on cpu {SERVER_CPU}, wrk + upstream nginx on cpu {LOAD_CPU}; "
        f"took {time.time() - started:.0f}s; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after)",
        f"upstream: nginx static, json {len(canned_json())} B, sse {len(canned_sse())} B "
        f"({len(TEXT_PIECES) + 3} data events + [DONE]); added = target - direct nginx, same scenario",
    ]
    table = render(rows, plan, meta)
    print(table, end="")
    (RESULTS / f"bench-{stamp}.txt").write_text(table)
    (RESULTS / "latest.txt").write_text(table)
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    log(f"saved bench/results/bench-{stamp}.txt")
    return 0


def pin_cpus() -> None:
    """The server on one CPU, load generator and upstream on another (shared when there is one)."""
    cpus = sorted(os.sched_getaffinity(0))
    global SERVER_CPU, LOAD_CPU
    if len(cpus) >= 2:
        LOAD_CPU, SERVER_CPU = str(cpus[0]), str(cpus[1])
    else:
        LOAD_CPU = SERVER_CPU = str(cpus[0])
        log("only one CPU available: server and load share it; numbers are not comparable")


def prepare_work_dirs() -> None:
    if WORK.exists():
        shutil.rmtree(WORK)
    for sub in ("logs", "lua", "www"):
        (WORK / sub).mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))


def install_targets(targets: list[str], skip_install: bool) -> dict[str, Any]:
    """Install the comparison targets' venvs; the context ``launch`` reads (install errors per target)."""
    ctx: dict[str, Any] = {}
    if "passthrough" in targets:
        pins = constraint_pins()
        reqs = [f"{k}=={v}" for k, v in sorted(pins.items())]
        ctx["pt_error"] = None if skip_install else pip_install(BENCH / ".venv-pt", reqs)
    if "litellm" in targets:
        ctx["litellm_error"] = None if skip_install else pip_install(BENCH / ".venv-litellm", [LITELLM_REQ])
        if ctx["litellm_error"]:
            log(f"litellm: {ctx['litellm_error']}")
    if any(t.startswith("any2api") for t in targets):
        ctx["any2api"], ctx["any2api_error"] = any2api_bin()
        if ctx["any2api_error"]:
            log(f"any2api: {ctx['any2api_error']}")
    return ctx


def added_latency(rows: list[Row]) -> None:
    """Each row's latency over direct nginx in the same scenario."""
    base = {r.scenario: r for r in rows if r.target == "nginx" and not r.na}
    for r in rows:
        b = base.get(r.scenario)
        if b and r.target != "nginx" and not r.na and b.p50 is not None and r.p50 is not None:
            r.added50 = r.p50 - b.p50
            if r.p99 is not None and b.p99 is not None:
                r.added99 = r.p99 - b.p99


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
