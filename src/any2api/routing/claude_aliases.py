"""The default Claude model names (as DS2API documents them), served by DeepSeek models.

Claude Code and other Anthropic clients ask for ``claude-*`` models; with a DeepSeek provider configured,
these names route to it out of the box. Configuration replaces any of them: an entry of the same name
under ``models:`` wins.
"""

from __future__ import annotations

from ..config import Config

CLAUDE_ALIASES: dict[str, str] = {
    "claude-sonnet-4-20250514": "deepseek-chat",
    "claude-sonnet-4-20250514-fast": "deepseek-chat",
    "claude-sonnet-4-20250514-slow": "deepseek-reasoner",
}
"""Claude model name -> DeepSeek model id (standard, fast, and reasoning mode)."""


def default_claude_aliases(config: Config) -> dict[str, list[str]]:
    """``models:``-style aliases for the Claude names, pointing at the first provider that serves each
    target: a ``deepseek``-type provider first, then any provider listing the model. Names the config
    already maps, and targets no provider serves, are left out."""
    out: dict[str, list[str]] = {}
    for alias, target in CLAUDE_ALIASES.items():
        if alias in config.models:
            continue
        provider = next((p.name for p in config.providers if p.type == "deepseek"), None)
        if provider is None:
            provider = next((p.name for p in config.providers if any(m.id == target for m in p.models)), None)
        if provider is not None:
            out[alias] = [f"{provider}/{target}"]
    return out
