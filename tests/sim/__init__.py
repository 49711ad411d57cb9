"""A protocol-faithful upstream simulator for end-to-end tests: OpenAI Chat Completions (also DeepSeek
style) and Anthropic Messages on the wire, scriptable per request, plus replays of shared/fixtures.

    with SimServer() as sim:              # or the pytest fixture `sim` (tests/sim/pytest_plugin.py)
        sim.enqueue(Script([Reasoning("Let me think", split=4), Text("Hello", split=2)]))
        client = openai.OpenAI(base_url=sim.url + "/v1", api_key="k")     # Anthropic: base_url=sim.url
        ...
        assert sim.last.json["model"] == "..."                            # what the gateway sent

Scripts (tests/sim/script.py) are dialect-neutral and rendered for the endpoint that was called:
output steps Text / Reasoning(signature=) / RedactedReasoning / Refusal / ToolCall / Parallel(interleave=),
transport steps Delay / Comment / Ping / Raw / StreamError / Drop / Hang, and Script options for usage,
finish reason, framing (newline, space, write_size, pad), timing (headers_delay, chunk_delay,
drop_after, never_respond). Fixed replies: Script.fail / openai_error / anthropic_error / html_error;
recorded replays: Script.replay("anthropic/messages-stream-thinking-signature.sse"); raw bodies:
Script.raw_body(b"...", ...). Selection: sim.enqueue (FIFO; key= / path= / match= filters),
sim.register("name", script) for ``[[sim:name]]`` in the last user message, sim.default; otherwise the
answer is ``echo: <last user text>``.
"""

from .fixtures import FIXTURES_DIR
from .script import (
    Comment,
    Delay,
    Drop,
    Fixture,
    Hang,
    HttpReply,
    Parallel,
    Ping,
    Raw,
    Reasoning,
    RedactedReasoning,
    Refusal,
    Script,
    ScriptError,
    StreamError,
    Text,
    ToolCall,
    Usage,
    anthropic_error,
    html_error,
    openai_error,
    split_text,
)
from .server import RecordedRequest, SimServer

__all__ = [
    "FIXTURES_DIR",
    "Comment",
    "Delay",
    "Drop",
    "Fixture",
    "Hang",
    "HttpReply",
    "Parallel",
    "Ping",
    "Raw",
    "Reasoning",
    "RecordedRequest",
    "RedactedReasoning",
    "Refusal",
    "Script",
    "ScriptError",
    "SimServer",
    "StreamError",
    "Text",
    "ToolCall",
    "Usage",
    "anthropic_error",
    "html_error",
    "openai_error",
    "split_text",
]
