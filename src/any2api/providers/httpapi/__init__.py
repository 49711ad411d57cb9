"""The ``http`` provider's spec: templates, response paths, framing, think blocks, message shaping."""

from .spec import HttpSpec, compile_spec

__all__ = ["HttpSpec", "compile_spec"]
