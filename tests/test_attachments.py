"""Documents to ``<ATTACHMENT_FILE>`` text, images to URL/base64, refusals naming the part."""

from __future__ import annotations

import base64

import pytest

from any2api.attachments import (
    attachment_block,
    document_text,
    file_name,
    image_base64,
    image_url,
    pdf_text,
    with_attachments,
)
from any2api.core.errors import GatewayError
from any2api.core.parts import FilePart, ImagePart


def make_pdf(pages: list[str], encrypt_marker: bool = False) -> bytes:
    """A minimal valid PDF with one text line per page (Helvetica), correct xref offsets."""
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    font_id = 3 + 2 * n_pages
    for i, text in enumerate(pages):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        esc = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({esc}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_block_has_the_documented_form():
    block = attachment_block(1, "notes.md", "# Title")
    assert block == (
        "<ATTACHMENT_FILE>\n<FILE_INDEX>File 1</FILE_INDEX>\n<FILE_NAME>notes.md</FILE_NAME>\n"
        "<FILE_CONTENT>\n# Title\n</FILE_CONTENT>\n</ATTACHMENT_FILE>\n"
    )
    assert with_attachments("Summarise", [block]) == "Summarise\n\n\n" + block
    assert with_attachments("", [block]) == block
    assert with_attachments("just text", []) == "just text"


def test_plain_text_and_markdown_documents():
    assert document_text(FilePart(text="inline text"), "p") == "inline text"
    md = FilePart(data=b64("# Héllo\n".encode()), media_type="text/markdown", filename="a.md")
    assert document_text(md, "p") == "# Héllo\n"
    # no media type: named by extension, or sniffed as UTF-8
    assert document_text(FilePart(data=b64(b"a,b\n1,2"), filename="t.csv"), "p") == "a,b\n1,2"
    assert document_text(FilePart(data=b64(b"\xef\xbb\xbfbom text")), "p") == "bom text"
    assert document_text(FilePart(url="data:text/plain;base64," + b64(b"from url")), "p") == "from url"
    assert document_text(FilePart(url="data:text/plain,hello%20world"), "p") == "hello world"


def test_pdf_text_is_extracted_page_by_page():
    pdf = make_pdf(["First page says hello", "Second page (with parens)"])
    text = document_text(FilePart(data=b64(pdf), media_type="application/pdf", filename="r.pdf"), "p")
    assert text == "First page says hello\n\nSecond page (with parens)"
    # sniffed without a media type
    assert document_text(FilePart(data=b64(pdf)), "p").startswith("First page")


@pytest.mark.parametrize(
    ("part", "needle"),
    [
        (FilePart(url="https://example.invalid/a.pdf"), "as a link"),
        (FilePart(file_id="file-123"), "as a file id"),
        (FilePart(data="!!!notbase64", media_type="text/plain"), "not valid base64"),
        (FilePart(data=b64(b"\x00\x01\x02\xff"), media_type="application/zip"), "application/zip"),
        (FilePart(data=b64(b"\xff\xfe\xfa"), media_type="text/plain"), "not valid UTF-8"),
        (FilePart(data=b64(b"%PDF-1.4 garbage"), media_type="application/pdf"), "could not be read"),
        (FilePart(data=b64(make_pdf([""])), media_type="application/pdf"), "no text layer"),
    ],
)
def test_refusals_are_400_and_name_the_part(part, needle):
    with pytest.raises(GatewayError) as e:
        document_text(part, "messages[0].content[1]")
    assert e.value.status == 400
    assert e.value.param == "messages[0].content[1]"
    assert needle in e.value.message


def test_pdf_text_direct_call_refuses_garbage():
    with pytest.raises(GatewayError):
        pdf_text(b"not a pdf", "x")


def test_file_names():
    assert file_name(FilePart(filename="a<b>.txt"), 1) == "ab.txt"
    assert file_name(FilePart(media_type="application/pdf"), 2) == "file2.pdf"
    assert file_name(FilePart(), 3) == "file3"


def test_images_as_url_or_base64():
    assert image_url(ImagePart(url="https://x/y.png"), "p") == "https://x/y.png"
    assert image_url(ImagePart(data="QUJD", media_type="image/jpeg"), "p") == "data:image/jpeg;base64,QUJD"
    assert image_base64(ImagePart(data="QUJD"), "p") == "QUJD"
    assert image_base64(ImagePart(url="data:image/png;base64,QUJD"), "p") == "QUJD"
    with pytest.raises(GatewayError) as e:
        image_base64(ImagePart(url="https://x/y.png"), "messages[1].content[0]")
    assert e.value.status == 400
    assert e.value.param == "messages[1].content[0]"
