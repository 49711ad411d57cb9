"""any2api: one gateway in front of any LLM chat endpoint."""

__version__ = "0.1.0"
