"""Paths into upstream JSON: ``choices[0].delta.content``, ``choices.0.delta.content``, ``a["b.c"]``,
``items[-1]``; ``$`` is the whole value. A list of paths takes the first that is present."""

from __future__ import annotations

import re
from typing import Any

Path = tuple[str | int, ...]

_STEP = re.compile(
    r"""\.?(?:([A-Za-z_$@][\w$@:-]*)|(\d+)|\[\s*(-?\d+)\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[\s*'([^']*)'\s*\])"""
)


class PathError(ValueError):
    pass


def compile_path(src: str) -> Path:
    s = src.strip()
    if s in ("$", "", "."):
        return ()
    if s.startswith("$."):
        s = s[2:]
    elif s.startswith("$["):
        s = s[1:]
    steps: list[str | int] = []
    pos = 0
    while pos < len(s):
        m = _STEP.match(s, pos)
        if m is None or m.end() == pos or (pos > 0 and s[pos] not in ".["):
            raise PathError(f"cannot read the path {src!r} at {s[pos:]!r}")
        name, digits, index, dq, sq = m.groups()
        if name is not None:
            steps.append(name)
        elif digits is not None:
            steps.append(int(digits))
        elif index is not None:
            steps.append(int(index))
        elif dq is not None:
            steps.append(dq.replace('\\"', '"').replace("\\\\", "\\"))
        else:
            steps.append(sq)
        pos = m.end()
    return tuple(steps)


def get_path(value: Any, path: Path) -> Any:
    for step in path:
        if isinstance(value, dict):
            value = value.get(step if isinstance(step, str) else str(step))
        elif isinstance(value, list) and isinstance(step, int):
            if -len(value) <= step < len(value):
                value = value[step]
            else:
                return None
        else:
            return None
        if value is None:
            return None
    return value


def get_first(value: Any, paths: tuple[Path, ...]) -> Any:
    for p in paths:
        v = get_path(value, p)
        if v is not None:
            return v
    return None
