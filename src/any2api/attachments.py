"""Attachments for text-only upstreams.

Documents (OpenAI ``file`` parts, Anthropic ``document`` blocks: plain text, Markdown, other text
formats, PDF) become text in the ``<ATTACHMENT_FILE>`` form chat front-ends use::

    <user text>


    <ATTACHMENT_FILE>
    <FILE_INDEX>File 1</FILE_INDEX>
    <FILE_NAME>notes.md</FILE_NAME>
    <FILE_CONTENT>
    # Notes ...
    </FILE_CONTENT>
    </ATTACHMENT_FILE>

Images are given as a URL (``data:`` URL for inline images) or as bare base64, as the upstream accepts.
Whatever cannot be represented is refused with a 400 naming the part -- never dropped.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import mimetypes

from .core.errors import GatewayError
from .core.parts import FilePart, ImagePart

_TEXT_TYPES = frozenset({
    "application/json", "application/ld+json", "application/xml", "application/x-yaml", "application/yaml",
    "application/javascript", "application/x-javascript", "application/typescript", "application/x-sh",
    "application/x-python", "application/sql", "application/csv", "application/x-ndjson", "application/toml",
    "application/x-tex", "application/graphql", "image/svg+xml",
})  # fmt: skip
_PDF = "application/pdf"
_EXTRA_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".yaml": "application/yaml",
                ".yml": "application/yaml", ".toml": "application/toml", ".ts": "application/typescript",
                ".py": "text/x-python", ".rs": "text/x-rust", ".go": "text/x-go", ".jsonl": "application/x-ndjson"}  # fmt: skip

logging.getLogger("pypdf").setLevel(logging.ERROR)


def attachment_block(index: int, filename: str, content: str) -> str:
    return (
        f"<ATTACHMENT_FILE>\n<FILE_INDEX>File {index}</FILE_INDEX>\n<FILE_NAME>{filename}</FILE_NAME>\n"
        f"<FILE_CONTENT>\n{content}\n</FILE_CONTENT>\n</ATTACHMENT_FILE>\n"
    )


def with_attachments(text: str, blocks: list[str]) -> str:
    """A message's text followed by its attachment blocks."""
    if not blocks:
        return text
    return (text + "\n\n\n" if text else "") + "\n".join(blocks)


def file_name(part: FilePart, index: int) -> str:
    if part.filename:
        return part.filename.replace("\n", " ").replace("<", "").replace(">", "")
    ext = ""
    if part.media_type:
        ext = {"text/markdown": ".md", "text/plain": ".txt", _PDF: ".pdf"}.get(part.media_type) or (
            mimetypes.guess_extension(part.media_type) or ""
        )
    return f"file{index}{ext}"


def document_text(part: FilePart, param: str) -> str:
    """The text of a document part. Raises a 400 ``GatewayError`` (``param`` names the part) when the
    document is not available inline or is not a text or PDF document."""
    if part.text is not None:
        return part.text
    raw, media_type = _document_bytes(part, param)
    media_type = (media_type or _guess_type(part.filename) or "").split(";")[0].strip().lower()
    unknown = not media_type or media_type == "application/octet-stream"
    if media_type == _PDF or (unknown and raw[:5] == b"%PDF-"):
        return pdf_text(raw, param)
    if unknown or _is_text_type(media_type):
        text = _decode_text(raw)
        if text is not None:
            return text
        if not unknown:
            raise GatewayError(
                "invalid_request", f"The {media_type} document is not valid UTF-8 text", param=param,
                code="invalid_document",
            )  # fmt: skip
    raise GatewayError(
        "invalid_request",
        f"Documents of type {media_type or 'unknown (binary)'} cannot be sent to this model: it reads text "
        "only (supported: text, Markdown and other text formats, PDF)",
        param=param, code="unsupported_document",
    )  # fmt: skip


def pdf_text(raw: bytes, param: str) -> str:
    """The text layer of a PDF, pages separated by blank lines."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise GatewayError(
                "invalid_request", "The PDF is password-protected", param=param, code="invalid_document"
            )
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except GatewayError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        raise GatewayError(
            "invalid_request", f"The PDF could not be read: {e}", param=param, code="invalid_document"
        ) from None
    text = "\n\n".join(p for p in pages if p)
    if not text:
        raise GatewayError(
            "invalid_request",
            "The PDF has no text layer (scanned pages?); this model reads text only",
            param=param, code="invalid_document",
        )  # fmt: skip
    return text


def image_url(part: ImagePart, param: str) -> str:
    """The image as a URL: its own, or a ``data:`` URL of inline data."""
    if part.url:
        return part.url
    if part.data:
        return f"data:{part.media_type or 'image/png'};base64,{part.data}"
    raise GatewayError("invalid_request", "The image has neither a URL nor data", param=param)


def image_base64(part: ImagePart, param: str) -> str:
    """The image as bare base64 (for upstreams that take only that; a remote URL is refused)."""
    if part.data:
        return part.data
    if part.url and part.url.startswith("data:"):
        head, sep, payload = part.url.partition(",")
        if sep and head.endswith(";base64"):
            return payload
    raise GatewayError(
        "invalid_request",
        "This model accepts images only as inline base64 data, not as a link",
        param=param, code="unsupported_image",
    )  # fmt: skip


def _document_bytes(part: FilePart, param: str) -> tuple[bytes, str | None]:
    data, media_type = part.data, part.media_type
    if data is None and part.url and part.url.startswith("data:"):
        head, sep, payload = part.url[5:].partition(",")
        if not sep:
            raise GatewayError("invalid_request", "Malformed data: URL", param=param)
        meta = head.split(";")
        media_type = media_type or meta[0] or None
        if "base64" not in meta[1:]:
            from urllib.parse import unquote_to_bytes

            return unquote_to_bytes(payload), media_type
        data = payload
    if data is None:
        what = "a link" if part.url else ("a file id" if part.file_id else "no content")
        raise GatewayError(
            "invalid_request",
            f"The document is given as {what}; this model needs the document's content inline "
            "(base64 data or text)",
            param=param, code="unsupported_document",
        )  # fmt: skip
    try:
        return base64.b64decode(data, validate=False), media_type
    except (binascii.Error, ValueError):
        raise GatewayError(
            "invalid_request", "The document data is not valid base64", param=param, code="invalid_document"
        ) from None


def _guess_type(filename: str | None) -> str | None:
    if not filename:
        return None
    dot = filename.rfind(".")
    if dot != -1 and filename[dot:].lower() in _EXTRA_TYPES:
        return _EXTRA_TYPES[filename[dot:].lower()]
    return mimetypes.guess_type(filename)[0]


def _is_text_type(media_type: str) -> bool:
    return (
        media_type.startswith("text/") or media_type in _TEXT_TYPES or media_type.endswith(("+json", "+xml"))
    )


def _decode_text(raw: bytes) -> str | None:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text
