"""The configuration behind ``any2api serve --demo``: a simulated provider, no network, no secrets."""

from __future__ import annotations

import os

from .config import Config, parse_config

DEMO_KEY = "sk-any2api-demo"

DEMO_YAML = """
server: {host: 127.0.0.1, port: 8000}
auth:
  keys: [${ANY2API_KEY:-sk-any2api-demo}]
providers:
  - name: demo
    type: demo
    models: [demo-chat, demo-reasoner]
models:
  gpt-4o-mini: demo/demo-chat
  gpt-4o: demo/demo-chat
  deepseek-chat: demo/demo-chat
  deepseek-reasoner: demo/demo-reasoner
  claude-sonnet-4-20250514: demo/demo-chat
  claude-sonnet-4-20250514-fast: demo/demo-chat
  claude-sonnet-4-20250514-slow: demo/demo-reasoner
"""


def demo_key() -> str:
    return os.environ.get("ANY2API_KEY") or DEMO_KEY


def demo_config() -> Config:
    return parse_config(DEMO_YAML, "(built-in demo)")
