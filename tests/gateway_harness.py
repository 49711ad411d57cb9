"""Start the real gateway for tests: in a thread (uvicorn on loopback) or as a subprocess (the CLI)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from any2api.api.app import create_app
from any2api.config import parse_config

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

_running: list[ThreadGateway | ProcessGateway] = []
"""Gateways a test started through the ``start_gateway`` / ``spawn_gateway`` fixtures and not stopped yet
(tests run one at a time per process)."""


def track(gw: ThreadGateway | ProcessGateway) -> None:
    _running.append(gw)


def stop_running_gateways() -> None:
    """Stop every gateway still running: store fixtures call this before they drop a Postgres schema that
    a gateway may still be writing to (the fixtures that started the gateways are torn down later)."""
    for gw in reversed(list(_running)):
        if isinstance(gw, ThreadGateway):
            gw.stop()
        else:
            gw.cleanup()


class ThreadGateway:
    """The gateway app served by uvicorn in a background thread, bound to a free loopback port."""

    def __init__(self, config_text: str, data_dir: str | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="any2api-test-")
        self.config = parse_config(config_text, "(test)")
        self.app = create_app(self.config)
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=0, lifespan="on", log_level="warning",
                             loop="uvloop", http="httptools", access_log=False)  # fmt: skip
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = 0

    def start(self) -> ThreadGateway:
        # each gateway gets its own data directory (store, secret key) unless the config names a database;
        # the variable is read during startup, which completes before this returns
        saved = os.environ.get("ANY2API_DATA_DIR")
        os.environ["ANY2API_DATA_DIR"] = self.data_dir
        try:
            self.thread.start()
            deadline = time.monotonic() + 30
            while not self.server.started:
                if not self.thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("gateway did not start")
                time.sleep(0.01)
        finally:
            if saved is None:
                os.environ.pop("ANY2API_DATA_DIR", None)
            else:
                os.environ["ANY2API_DATA_DIR"] = saved
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gateway(self) -> Any:
        return self.app.state.runtime.gateway

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        if self in _running:
            _running.remove(self)
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def free_port() -> int:
    """A loopback port that was free a moment ago (another process may take it before it is used: callers
    that bind it later retry on ``EADDRINUSE``, see ``ProcessGateway.start``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the socket listening on loopback ``port`` (None: cannot tell, e.g.
    without Linux's /proc)."""
    inodes: set[str] = set()
    try:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(cols[9])
        fds = os.listdir(f"/proc/{pid}/fd")
    except (OSError, IndexError, ValueError):
        return None
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def _port_taken(output: str) -> bool:
    return "address already in use" in output.lower() or "errno 98" in output.lower()


class ProcessGateway:
    """``any2api serve`` as a real subprocess (for restarts, several instances, kills)."""

    def __init__(self, config_path: Path, port: int | None = None, env: dict[str, str] | None = None,
                 workers: int = 1) -> None:  # fmt: skip
        self.config_path = config_path
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self._own_dir: str | None = None
        if not (env and "ANY2API_DATA_DIR" in env):
            self._own_dir = self.env["ANY2API_DATA_DIR"] = tempfile.mkdtemp(prefix="any2api-test-")
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30, attempts: int = 3) -> ProcessGateway:
        """Start and wait until the port accepts connections. A free port picked for us can be taken by
        another process (parallel test workers) before the gateway binds it: then try another one."""
        for attempt in range(attempts):
            try:
                return self._start(timeout)
            except RuntimeError as e:
                if self.fixed_port or attempt == attempts - 1 or not _port_taken(str(e)):
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> ProcessGateway:
        cmd = [sys.executable, "-m", "any2api", "serve", "--config", str(self.config_path), "--port", str(self.port),
               "--workers", str(self.workers)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{out}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            if listens_on(self.proc.pid, self.port) is not False:
                return self
            # another process answers on the port (it took it after free_port): ours fails to bind and exits
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("gateway subprocess did not start listening")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def cleanup(self) -> None:
        """Stop, and remove the data directory made for this gateway (not one passed in ``env``)."""
        self.stop(signal.SIGKILL if self.proc is not None and self.proc.poll() is None else signal.SIGTERM)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self in _running:
            _running.remove(self)
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
