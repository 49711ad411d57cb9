"""One error type for the whole gateway; each client dialect renders it in its own shape."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal[
    "invalid_request",  # 400
    "authentication",  # 401
    "permission",  # 403
    "not_found",  # 404 (unknown model / path)
    "method_not_allowed",  # 405
    "payload_too_large",  # 413
    "rate_limit",  # 429
    "quota_exceeded",  # 429, upstream quota / budget
    "upstream",  # 502
    "overloaded",  # 503 (or 529 in Anthropic's dialect)
    "timeout",  # 504
    "internal",  # 500
]

DEFAULT_STATUS: dict[ErrorKind, int] = {
    "invalid_request": 400,
    "authentication": 401,
    "permission": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "rate_limit": 429,
    "quota_exceeded": 429,
    "upstream": 502,
    "overloaded": 503,
    "timeout": 504,
    "internal": 500,
}


class GatewayError(Exception):
    """An error with everything a dialect needs to render it.

    ``upstream_status`` keeps the upstream's own HTTP status when the error came from upstream;
    ``message`` keeps its reason text. ``retryable`` tells routing whether another account/model may help.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        upstream_status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status if status is not None else DEFAULT_STATUS[kind]
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.upstream_status = upstream_status
        if retryable is None:
            retryable = kind in ("rate_limit", "upstream", "overloaded", "timeout")
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"GatewayError({self.kind!r}, {self.message!r}, status={self.status})"


def invalid(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    return GatewayError("invalid_request", message, param=param, code=code)
