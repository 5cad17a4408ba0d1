"""Read a corpus file into text: .txt/.md (encoding detected), .pdf, .docx, .html.

Every failure is a :class:`rag.errors.DocumentError` naming the file and the reason.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

from ..errors import DocumentError

SUPPORTED = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")
# Size limits, so one oversized file cannot make a build take hours or gigabytes. Measured (2-core machine,
# load ~3.5): a 5 MB (1.7 M character) text file builds in 48 s at 381 MB peak RSS, a 10 MB one in 84 s at
# 589 MB, so 50 MB would take ~7 min and ~2 GB; the largest seed document has 45 k characters. A text file over
# MAX_TEXT_BYTES is not read at all; text over MAX_TEXT_CHARS (any format, e.g. a huge PDF) is not indexed.
MAX_TEXT_BYTES = 20 * 1024 * 1024
MAX_TEXT_CHARS = 2_000_000
# Encodings tried in order when there is no BOM. GB18030 is a superset of GBK/GB2312.
_CANDIDATES = ("utf-8", "gb18030", "big5")


def decode_bytes(data: bytes, name: str = "<bytes>") -> str:
    """Decode text bytes: BOM first (UTF-8/16/32), then strict UTF-8, GB18030, Big5, then charset-normalizer."""
    if not data.strip():
        raise DocumentError(name, "the file is empty")
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                raise DocumentError(name, f"starts with a {enc} byte-order mark but does not decode as {enc}") from None
    if b"\x00" in data[:4096]:
        # UTF-16 without a BOM has NULs in the high bytes of ASCII characters; anything else
        # with NULs is binary.
        even, odd = data[0:4096:2].count(0), data[1:4096:2].count(0)
        for enc in (("utf-16-le", "utf-16-be") if odd >= even else ("utf-16-be", "utf-16-le")):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            if _mostly_cjk_or_ascii(text) and "\x00" not in text:
                return text
        raise DocumentError(name, "looks like a binary file, not text (contains NUL bytes)")
    for enc in _CANDIDATES:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc != "utf-8" and not _mostly_cjk_or_ascii(text):
            continue
        return text
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:  # pragma: no cover - defensive
        best = None
    # A guess is accepted only when the result reads as Chinese or plain text; a Western
    # code page "decoding" GBK bytes would produce mojibake.
    if best is not None and best.encoding and _mostly_cjk_or_ascii(str(best)):
        return str(best)
    raise DocumentError(name, "could not detect the text encoding (tried UTF-8, GB18030/GBK, Big5)")


def _mostly_cjk_or_ascii(text: str) -> bool:
    sample = text[:4000]
    if not sample:
        return True
    ok = sum(1 for c in sample if c.isascii() or "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
    return ok / len(sample) > 0.9


def _too_long(name: str, chars: int) -> DocumentError:
    return DocumentError(name, f"the text is too long ({chars:,} characters or more; the limit is {MAX_TEXT_CHARS:,} "
                               "characters per file); split it into smaller files")


def _read_pdf(path: Path) -> str:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is reported once, as a skipped file
    pages: list[str] = []
    chars = 0
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise DocumentError(str(path.name), "the PDF is encrypted")
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > MAX_TEXT_CHARS:
                raise _too_long(path.name, chars)
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise DocumentError(path.name, f"not a readable PDF ({type(e).__name__}: {e})") from None
    text = "\n".join(pages)
    if not text.strip():
        raise DocumentError(path.name, "the PDF has no extractable text (scanned image?)")
    return text


def _read_docx(path: Path) -> str:
    from docx import Document

    try:
        doc = Document(str(path))
    except Exception as e:  # python-docx raises several unrelated types for broken packages
        raise DocumentError(path.name, f"not a readable .docx file ({type(e).__name__})") from None
    out: list[str] = []
    body = doc.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.append("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")))
        elif tag == "tbl":
            out.append("")
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = []
                    for cell in row:
                        if cell.tag.endswith("}tc"):
                            cells.append("".join(t.text or "" for t in cell.iter() if t.tag.endswith("}t")).strip())
                    out.append("\t".join(cells) + ("\t" if len(cells) < 3 else ""))
            out.append("")
    return "\n".join(out)


def _read_html(data: bytes, name: str) -> str:
    from bs4 import BeautifulSoup

    text = decode_bytes(data, name)
    soup = BeautifulSoup(text, "lxml")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer"]):
        tag.decompose()
    lines: list[str] = []
    for tr in soup.find_all("tr"):
        cells = [c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])]
        tr.replace_with(soup.new_string("\n" + "\t".join(cells) + "\n"))
    for block in soup.find_all(["p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section", "article"]):
        block.insert_after(soup.new_string("\n"))
    raw = soup.get_text()
    for ln in raw.split("\n"):
        lines.append(ln.strip() if "\t" not in ln else ln)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def name_problem(name: str) -> DocumentError | None:
    """A DocumentError for a file name that is not valid UTF-8 (e.g. GBK bytes from a Windows zip), else None.

    Such a name cannot be written to the index (JSON, UTF-8) or shown, so the file is skipped; the
    message shows its bytes and, when they read as GBK, the name they spell.
    """
    try:
        name.encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    raw = os.fsencode(name)
    shown = raw.decode("utf-8", "backslashreplace")
    try:
        hint = f" (as GBK: {raw.decode('gb18030')})"
    except UnicodeDecodeError:
        hint = ""
    return DocumentError(shown, f"the file name is not valid UTF-8{hint}; rename the file")


def read_document(path: Path) -> str:
    """Text of one corpus file; DocumentError for empty, binary, unreadable or unsupported files."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DocumentError(path.name, f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    try:
        if suffix == ".pdf":
            text = _read_pdf(path)
        elif suffix == ".docx":
            text = _read_docx(path)
        else:
            size = path.stat().st_size
            if size > MAX_TEXT_BYTES:
                raise DocumentError(path.name, f"the file is too large ({size / 2**20:.1f} MB; the limit for {suffix} "
                                               f"files is {MAX_TEXT_BYTES // 2**20} MB); split it into smaller files")
            data = path.read_bytes()
            text = _read_html(data, path.name) if suffix in (".html", ".htm") else decode_bytes(data, path.name)
    except DocumentError as e:
        raise DocumentError(path.name, e.reason) from None
    except OSError as e:
        raise DocumentError(path.name, f"cannot be read ({e.strerror or e})") from None
    if not text.strip():
        raise DocumentError(path.name, "the file has no text")
    if len(text) > MAX_TEXT_CHARS:
        raise _too_long(path.name, len(text))
    if suffix == ".md":
        text = re.sub(r"^#{1,6}\s*", "", text, flags=re.M)
    return text
