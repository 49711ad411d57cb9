"""Hub request -> template variables: messages in the upstream's shape, system prompt, session ids."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any, assert_never

from ...attachments import (
    attachment_block,
    document_text,
    file_name,
    image_base64,
    image_url,
    with_attachments,
)
from ...core.errors import GatewayError
from ...core.parts import (
    FilePart,
    ImagePart,
    Part,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    unsupported_server_tool,
)
from ...core.request import ChatRequest, Message
from ...toolemu import emulate_tools
from ..base import Account
from .spec import HttpSpec, MessagesSpec
from .template import OMIT

_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}


class _Turn:
    __slots__ = ("images", "name", "role", "text")

    def __init__(self, role: str, text: str, images: list[str], name: str | None = None) -> None:
        self.role = role
        self.text = text
        self.images = images
        self.name = name


def has_tool_parts(req: ChatRequest) -> bool:
    return any(isinstance(p, (ToolCallPart, ToolResultPart)) for m in req.messages for p in m.parts)


def parts_text(parts: list[Part], param: str) -> str:
    """Text of tool-result content given as parts (text and documents; images are refused)."""
    out: list[str] = []
    blocks: list[str] = []
    for i, p in enumerate(parts):
        if isinstance(p, TextPart):
            out.append(p.text)
        elif isinstance(p, FilePart):
            blocks.append(
                attachment_block(
                    len(blocks) + 1, file_name(p, len(blocks) + 1), document_text(p, f"{param}[{i}]")
                )
            )
        else:
            raise GatewayError(
                "invalid_request", f"A tool result with {p.kind} content cannot be sent to this model",
                param=f"{param}[{i}]", code="unsupported_content",
            )  # fmt: skip
    return with_attachments("\n".join(out), blocks)


def _message_content(spec: MessagesSpec, mi: int, msg: Message) -> tuple[str, list[str]]:
    """The text (attachments included) and the images of one message."""
    texts: list[str] = []
    blocks: list[str] = []
    images: list[str] = []
    for pi, part in enumerate(msg.parts):
        param = f"messages[{mi}].content[{pi}]"
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ReasoningPart):
            if spec.reasoning == "think" and part.text:
                texts.append(f"<think>{part.text}</think>")
        elif isinstance(part, FilePart):
            n = len(blocks) + 1
            blocks.append(attachment_block(n, file_name(part, n), document_text(part, param)))
        elif isinstance(part, ImagePart):
            images.append(_image(spec.images, part, param))
        elif isinstance(part, (ToolCallPart, ToolResultPart)):
            raise GatewayError(
                "invalid_request",
                "This model does not support tool calls",
                param=param,
                code="tools_unsupported",
            )
        elif isinstance(part, ServerToolCallPart | ServerToolResultPart):
            raise unsupported_server_tool(part, "HTTP", param)
        else:
            assert_never(part)
    return with_attachments("\n".join(texts), blocks), images


def _image(mode: str, part: ImagePart, param: str) -> str:
    if mode == "reject":
        raise GatewayError(
            "invalid_request",
            "This model does not accept images",
            param=param,
            code="unsupported_content",
        )
    return image_base64(part, param) if mode == "base64" else image_url(part, param)


def _turns(spec: MessagesSpec, messages: list[Message]) -> tuple[list[_Turn], str | None]:
    """Text turns (role already renamed) and the system text."""
    turns: list[_Turn] = []
    system: list[str] = []
    for mi, msg in enumerate(messages):
        text, images = _message_content(spec, mi, msg)
        role = "system" if msg.role in ("system", "developer") else msg.role
        if role == "tool":  # only without emulation, which has refused it above
            role = "user"
        if role == "system":
            if images:
                raise GatewayError(
                    "invalid_request", "Images are not allowed in a system message", param=f"messages[{mi}]"
                )
            system.append(text)
            if spec.system != "keep":
                continue
        turns.append(_Turn(role, text, images, msg.name))
    system_text = "\n\n".join(s for s in system if s) or None
    if spec.system == "merge" and system_text:
        _merge_system(turns, system_text)
    if spec.merge_consecutive:
        turns = _merge_consecutive(turns)
    return turns, system_text


def _merge_system(turns: list[_Turn], system_text: str) -> None:
    """The system text goes in front of the first user turn (or becomes one)."""
    for t in turns:
        if t.role == "user":
            t.text = f"{system_text}\n\n{t.text}" if t.text else system_text
            return
    turns.insert(0, _Turn("user", system_text, []))


def _merge_consecutive(turns: list[_Turn]) -> list[_Turn]:
    merged: list[_Turn] = []
    for t in turns:
        if merged and merged[-1].role == t.role:
            prev = merged[-1]
            prev.text = f"{prev.text}\n\n{t.text}" if prev.text and t.text else prev.text or t.text
            prev.images.extend(t.images)
        else:
            merged.append(t)
    return merged


def _render_turns(spec: MessagesSpec, turns: list[_Turn], model: str) -> list[Any]:
    roles = spec.roles
    out: list[Any] = []
    for i, t in enumerate(turns):
        role = roles.get(t.role, t.role)
        content: Any = t.text
        if t.images and spec.images == "openai":
            content = [{"type": "text", "text": t.text}] if t.text else []
            content += [{"type": "image_url", "image_url": {"url": u}} for u in t.images]
        if spec.item is None:
            item: Any = {"role": role, "content": content}
            if t.images and spec.images in ("url", "base64"):
                item["images"] = t.images
        else:
            ctx = {"role": role, "content": content, "text": t.text, "images": t.images or None, "name": t.name,
                   "index": i, "model": model}  # fmt: skip
            item = spec.item(ctx)
            if item is OMIT:
                continue
        out.append(item)
    return out


def conversation_id(req: ChatRequest) -> str:
    """The client's conversation id (metadata ``conversation_id``/``session_id``), else one derived from
    the start of the conversation: stable across its turns, different between conversations."""
    meta = req.metadata or {}
    for k in ("conversation_id", "session_id", "chat_id", "thread_id"):
        v = meta.get(k) or req.extra_for(req.origin).get(k)
        if isinstance(v, str) and v:
            return v
    h = hashlib.sha256()
    h.update(req.model.encode())
    seen_user = False
    for m in req.messages:
        for p in m.parts:
            if isinstance(p, TextPart):
                h.update(m.role.encode() + b"\x00" + p.text.encode() + b"\x01")
        if m.role == "user":
            seen_user = True
            break
    if req.user:
        h.update(b"\x02" + req.user.encode())
    if not seen_user:
        h.update(uuid.uuid4().bytes)
    return str(uuid.UUID(bytes=h.digest()[:16], version=4))


def build_context(
    spec: HttpSpec, req: ChatRequest, model: str, account: Account, base_url: str
) -> dict[str, Any]:
    """The variables of the request templates (only those the templates use are computed)."""
    needs = spec.needs
    ctx: dict[str, Any] = {
        "model": model,
        "temperature": req.temperature,
        "max_tokens": req.max_tokens,
        "top_p": req.top_p,
        "top_k": req.top_k,
        "stop": req.stop or None,
        "seed": req.seed,
        "stream": req.stream,
        "user": req.user,
        "account": {"id": account.id, "api_key": account.api_key, "label": account.label},
        "extra": req.extra_for(req.origin),
        "metadata": req.metadata,
        "response_format": req.response_format,
        "base_url": base_url or None,
    }
    if "env" in needs:
        ctx["env"] = spec.env
    if "request_id" in needs:
        ctx["request_id"] = str(uuid.uuid4())
    if "now" in needs or "now_ms" in needs:
        now = time.time()
        ctx["now"] = int(now)
        ctx["now_ms"] = int(now * 1000)
    if "conversation_id" in needs:
        ctx["conversation_id"] = conversation_id(req)
    if needs & {"messages", "system", "prompt", "history", "transcript", "images"}:
        _text_context(ctx, spec, _messages_to_send(spec, req), model)
    return ctx


def _messages_to_send(spec: HttpSpec, req: ChatRequest) -> list[Message]:
    """The history as text messages: tool calls emulated in text, or refused."""
    if not has_tool_parts(req) and not req.tools:
        return req.messages
    if spec.tools != "reject":
        return emulate_tools(req, parts_text)
    if req.tools:
        raise GatewayError(
            "invalid_request",
            "This model does not support tools",
            param="tools",
            code="tools_unsupported",
        )
    return req.messages  # history with tool parts is refused by _turns, naming the part


def _text_context(ctx: dict[str, Any], spec: HttpSpec, messages: list[Message], model: str) -> None:
    """The text variables: messages, system, prompt, history, transcript, images."""
    needs = spec.needs
    mspec = spec.messages
    turns, system = _turns(mspec, messages)
    ctx["system"] = system
    last_user = len(turns) - 1 if turns and turns[-1].role == "user" else -1
    if "messages" in needs:
        ctx["messages"] = _render_turns(mspec, turns, model)
    if "history" in needs:
        ctx["history"] = _render_turns(mspec, turns[:last_user] if last_user >= 0 else turns, model)
    if last_user >= 0:
        ctx["prompt"] = turns[last_user].text
        ctx["images"] = turns[last_user].images or None
    if "transcript" in needs:
        lines = [f"{_LABELS.get(t.role, t.role.title())}: {t.text}" for t in turns]
        if system and mspec.system == "drop":
            lines.insert(0, f"System: {system}")
        ctx["transcript"] = "\n\n".join(lines)
