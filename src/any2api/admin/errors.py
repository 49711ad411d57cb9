"""The admin layer's domain errors (a leaf module: everything else in ``admin`` imports it, it imports nothing
of ours).

- :class:`InputError`: an operator's input is wrong; ``path`` names the field (``accounts[3].weight``).
- :class:`AdminError`: an operation cannot be done (HTTP status, DS2API error code, the field it concerns).

Messages never carry a secret: they name fields, ids and labels, never credentials."""

from __future__ import annotations


class InputError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class AdminError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def not_found(what: str, ident: str, code: str, param: str | None = None) -> AdminError:
    """``No account 'acc_x'`` (404)."""
    return AdminError(404, f"No {what} {ident!r}", code, param)


def invalid(message: str, param: str | None = None) -> AdminError:
    """A 400 that is not about one field's value (``Nothing to change``)."""
    return AdminError(400, message, "invalid_request", param)
