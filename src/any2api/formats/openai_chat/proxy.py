"""``POST /chat`` of the AI Proxy Worker: OpenAI Chat bodies and answers, its own error shape and statuses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from ...core.errors import GatewayError
from ..base import DialectRoute, chat_route
from .dialect import OpenAIChat


class ProxyChat(OpenAIChat):
    name = "proxy_chat"

    TYPES: ClassVar[dict[str, str]] = {
        "invalid_request": "invalid_request", "authentication": "unauthorized", "permission": "forbidden",
        "not_found": "not_found", "method_not_allowed": "method_not_allowed",
        "payload_too_large": "payload_too_large", "rate_limit": "rate_limited", "quota_exceeded": "quota_exceeded",
        "upstream": "upstream_error", "overloaded": "upstream_error", "timeout": "timeout",
        "internal": "internal_error",
    }  # fmt: skip

    def routes(self) -> Sequence[DialectRoute]:
        return (chat_route("/chat"),)

    def error_json(self, err: GatewayError) -> Any:
        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"error": self.TYPES.get(err.kind, "internal_error"), "details": err.message, "timestamp": ts}

    def error_status(self, err: GatewayError) -> int:
        return 502 if err.kind == "overloaded" else err.status


PROXY_CHAT = ProxyChat()
