"""OpenAI-compatible vendors as data: where they live, how they authenticate, which parameters differ."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..config_types import ProviderConfig


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    base_url: str = ""
    chat_path: str = "/chat/completions"
    models_path: str | None = "/models"
    auth_header: str = "bearer"
    headers: tuple[tuple[str, str], ...] = ()
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    """Response fields read as reasoning (first found wins); the first is also the request field."""
    param_renames: tuple[tuple[str, str], ...] = ()
    param_drops: frozenset[str] = frozenset()
    param_clamps: tuple[tuple[str, float | None, float | None], ...] = ()
    echo_reasoning_with_tool_calls: bool = False
    """DeepSeek: an assistant turn with tool calls must carry its ``reasoning_content`` back."""
    thinking_to_effort: bool = False
    """Map an Anthropic-style thinking budget to ``reasoning_effort`` (OpenAI's own API)."""
    developer_role: str = "developer"
    """What a ``developer`` message becomes upstream."""
    models: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


BUILTIN: dict[str, Profile] = {
    "openai": Profile(
        name="openai",
        base_url="https://api.openai.com/v1",
        param_renames=(("max_tokens", "max_completion_tokens"),),
        thinking_to_effort=True,
    ),
    "deepseek": Profile(
        name="deepseek",
        base_url="https://api.deepseek.com",
        reasoning_fields=("reasoning_content",),
        param_renames=(("max_completion_tokens", "max_tokens"),),
        echo_reasoning_with_tool_calls=True,
        developer_role="system",
        models=("deepseek-chat", "deepseek-reasoner"),
    ),
}


def profile_for(cfg: ProviderConfig) -> Profile:
    """The built-in profile of the provider's type with the config's overrides applied."""
    base = BUILTIN.get(cfg.type, BUILTIN["openai"])
    if cfg.type not in BUILTIN:
        base = replace(base, name=cfg.type)
    # a custom base_url for the generic type means "any OpenAI-shaped endpoint": keep parameters as sent
    if cfg.type == "openai" and cfg.base_url and cfg.base_url != base.base_url:
        base = replace(base, param_renames=(), thinking_to_effort=False)
    renames = dict(base.param_renames)
    renames.update(cfg.param_renames)
    clamps = {k: (lo, hi) for k, lo, hi in base.param_clamps}
    clamps.update(cfg.param_clamps)
    reasoning = base.reasoning_fields
    if cfg.reasoning_field:
        reasoning = (cfg.reasoning_field, *(f for f in reasoning if f != cfg.reasoning_field))
    return replace(
        base,
        base_url=cfg.base_url or base.base_url,
        chat_path=cfg.chat_path or base.chat_path,
        models_path=cfg.models_path
        or (None if cfg.chat_path and not cfg.discover_models else base.models_path),
        auth_header=cfg.auth_header or base.auth_header,
        headers=tuple({**dict(base.headers), **cfg.headers}.items()),
        reasoning_fields=reasoning,
        param_renames=tuple((k, v) for k, v in renames.items() if k != v),
        param_drops=base.param_drops | frozenset(cfg.param_drops),
        param_clamps=tuple((k, lo, hi) for k, (lo, hi) in clamps.items()),
    )
