"""Stage 1 — load and clean: files on disk → cleaned `Document`s.

Readers for .txt/.md/.html/.pdf/.docx decode the bytes (UTF-8 or GB18030),
cleaning removes what a scraped page wraps around the text (preview fragments,
banners, page markers like —3—, site furniture), and a cover notice that
carries an attached plan (关于印发《…》的通知) becomes two documents.
Cleaning never loses text silently: a file that loses more than a small
share of its characters is reported (`TextLoss`) and still indexed.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from qa.text.domain import load_domain
from qa.errors import EmptyCorpus, UnreadableFile
from qa.ingest.law import is_law_markdown, law_document
from qa.ingest.works import name_documents
from qa.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")

_PAGE_MARKER = re.compile(r"[—－-]\s*\d{1,3}\s*[—－-]")
_SOURCE_LINE = re.compile(r"资料来源\s*[:：]\s*(https?://[^\s，。]+)")
_URL = re.compile(r"https?://[^\s，。]+")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_NOTICE_TITLE = re.compile(r"[^。：:\n]{0,40}?关于印发《([^》]+)》的通知")
_PUBLIC_MARK = re.compile(r"[（(]此件[^）)]{0,10}公开[）)]")
_CJK = r"[\u3400-\u9fff“”《》]"
# Site furniture after the source line (footer, copyright, customer service) is short; a longer
# tail after a source line is text, as in a file holding several scraped pages one after another.
_FURNITURE_MAX_CHARS = 1500
# The scraped plan page loses 18 % to its preview fragments and footer; losing more is reported.
_REPORTED_LOSS = 0.2
_HALF_TO_FULL = {",": "，", "(": "（", ")": "）", ":": "：", ";": "；", "?": "？", "!": "！"}


@dataclass(frozen=True)
class TextLoss:
    """A file whose cleaning dropped more than `_REPORTED_LOSS` of its characters (spaces not counted)."""

    path: str
    read_chars: int
    kept_chars: int

    def __str__(self) -> str:
        dropped = 1 - self.kept_chars / self.read_chars
        return (f"文件 {self.path} 清理后只保留了 {self.kept_chars}/{self.read_chars} 个字符（删去 {dropped:.1%}），"
                f"被删去的可能包括正文，请检查该文件；保留的部分已照常索引。")


@dataclass(frozen=True)
class LoadReport:
    """What ingest read: the documents and, separately, the files it skipped or cleaned heavily."""

    documents: tuple[Document, ...]
    skipped: tuple[UnreadableFile, ...]
    losses: tuple[TextLoss, ...] = ()


def load_paths(paths: list[Path]) -> LoadReport:
    """Read every supported file under `paths`; unreadable files are skipped and reported."""
    documents: list[Document] = []
    skipped: list[UnreadableFile] = []
    losses: list[TextLoss] = []
    for path in _expand(paths):
        try:
            loaded, loss = _load(path)
        except UnreadableFile as problem:
            skipped.append(problem)
            continue
        documents.extend(loaded)
        losses.extend([loss] if loss else [])
    if not documents:
        where = "、".join(str(p) for p in paths)
        raise EmptyCorpus(f"{where} 中没有可读取的文档（支持 {' '.join(SUPPORTED_SUFFIXES)}）")
    # How citations name each document depends on the whole corpus (qa.ingest.works).
    return LoadReport(tuple(name_documents(documents)), tuple(skipped), tuple(losses))


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            # A folder's README describes the folder; it is not one of its documents.
            files.extend(p for p in sorted(path.rglob("*"))
                         if p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.upper().startswith("README"))
        elif path.exists():
            files.append(path)
        else:
            raise EmptyCorpus(f"找不到 {path}")
    return files


def load_file(path: Path) -> list[Document]:
    """One file → one or two cleaned documents (a cover notice is split from its attachment)."""
    return _load(path)[0]


def _load(path: Path) -> tuple[list[Document], TextLoss | None]:
    raw = read_text(path)
    if not raw.strip():
        raise UnreadableFile(path, "文件中没有文字")
    if path.suffix.lower() == ".md" and is_law_markdown(raw):
        return [law_document(raw, path, _slug(path.stem))], None  # its Markdown marks the structure: see qa.ingest.law
    source_url = _find_source_url(raw)
    text = clean_text(raw)
    if not text:
        raise UnreadableFile(path, "清理后没有正文")
    return split_documents(text, path, source_url), text_loss(path, raw, text)


def text_loss(path: Path, raw: str, cleaned: str) -> TextLoss | None:
    """A `TextLoss` when cleaning `raw` into `cleaned` dropped more than a small share of its characters."""
    read, kept = _visible_chars(raw), _visible_chars(cleaned)
    return TextLoss(str(path), read, kept) if read and kept < (1 - _REPORTED_LOSS) * read else None


def _visible_chars(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


# --- readers ---------------------------------------------------------------

def read_text(path: Path) -> str:
    """Decode a file of any supported type to text, or raise `UnreadableFile`."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(path, f"不支持的文件类型 {suffix or '(无扩展名)'}")
    try:
        if suffix == ".pdf":
            return _read_pdf(path)
        if suffix == ".docx":
            return _read_docx(path)
        text = decode_bytes(path.read_bytes(), path)
    except UnreadableFile:
        raise
    except OSError as error:
        raise UnreadableFile(path, error.strerror or str(error)) from None
    return _html_to_text(text) if suffix in (".html", ".htm") else text


def decode_bytes(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK/GB2312)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise UnreadableFile(path, "无法识别文字编码（既不是 UTF-8，也不是 GBK/GB18030）")


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = [page.extract_text() or "" for page in PdfReader(path).pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise UnreadableFile(path, f"PDF 无法解析（{type(error).__name__}）") from None
    text = repair_kangxi("\n".join(pages))
    if not text.strip():
        raise UnreadableFile(path, "PDF 没有文字层（可能是扫描件）")
    return text


def _read_docx(path: Path) -> str:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError) as error:
        raise UnreadableFile(path, f"Word 文件无法解析（{type(error).__name__}）") from None
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend("\t".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n".join(lines)


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "nav", "header", "footer", "noscript", "head"}
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip_depth:
            self.parts.append(data)


def _html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    return "".join(parser.parts)


# --- cleaning --------------------------------------------------------------

def repair_kangxi(text: str) -> str:
    """Map Kangxi radicals (U+2F00–U+2FDF) and CJK radical supplements to the
    ordinary ideographs; NFKC on these alone, since full NFKC would also turn
    full-width punctuation into ASCII."""
    return re.sub(r"[\u2e80-\u2eff\u2f00-\u2fdf]", lambda m: unicodedata.normalize("NFKC", m.group()), text)


def clean_text(raw: str) -> str:
    """Strip scrape furniture and page markers, normalise punctuation; keep the full text."""
    text = repair_kangxi(raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u3000", " ").replace("\xa0", " ").replace("\ufeff", "")
    text = _keep_full_text(text)
    text = _cut_trailing_furniture(text)
    text = _PAGE_MARKER.sub("", text)
    text = _to_full_width(text)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _keep_full_text(text: str) -> str:
    """A scraped page shows garbled preview fragments before the full text and
    site furniture after it, while the full text itself sits on one long line
    with its page markers. When such a line holds most of the text, it is the document."""
    longest = max(text.split("\n"), key=len)
    is_page_body = len(_PAGE_MARKER.findall(longest)) >= 2 and len(longest) > 0.5 * len(text)
    return longest if is_page_body else text


def _cut_trailing_furniture(text: str) -> str:
    """Drop the last source line (资料来源:http…) and what follows it, when that is short enough
    to be the site's footer; a source line with text after it is kept with that text."""
    last = None
    for last in _SOURCE_LINE.finditer(text):
        pass
    if last is None or len(text) - last.end() > _FURNITURE_MAX_CHARS:
        return text
    return text[: last.start()]


def _to_full_width(text: str) -> str:
    """Half-width punctuation next to Chinese text becomes the official full-width form."""
    pattern = re.compile(rf"(?<={_CJK})[,():;?!]|[,():;?!](?={_CJK})")
    text = pattern.sub(lambda m: _HALF_TO_FULL[m.group()], text)
    # A bracket pair around Chinese numerals or text: convert the partner too.
    return re.sub(r"（([^（）()]{1,30})\)", r"（\1）", re.sub(r"\(([^()（）]{1,30})）", r"（\1）", text))


def _find_source_url(raw: str) -> str:
    match = _SOURCE_LINE.search(raw)
    return match.group(1) if match else ""


# --- documents -------------------------------------------------------------

def split_documents(text: str, path: Path, source_url: str = "") -> list[Document]:
    """A cover notice followed by its attachment becomes two documents sharing
    the notice's metadata; anything else is one document."""
    stem = _slug(path.stem)
    notice_match = _NOTICE_TITLE.search(text[:400])
    public_mark = _PUBLIC_MARK.search(text)
    if notice_match and public_mark:
        notice_text = text[: public_mark.end()].strip()
        plan_text = text[public_mark.end() :].strip()
        meta = _metadata(notice_text)
        notice_title = notice_match.group(0).strip()
        plan_title = notice_match.group(1)
        notice = Document(f"{stem}-notice", notice_title, notice_text, source_url=source_url,
                          source_path=str(path), kind="notice", **meta)
        if plan_text:
            plan = Document(f"{stem}-plan", plan_title, plan_text, source_url=source_url,
                            source_path=str(path), kind="plan", **meta)
            return [notice, plan]
        return [notice]
    title = _first_line_title(text, path)
    return [Document(stem, title, text, source_url=source_url or _first_url(text),
                     source_path=str(path), **_metadata(text))]


def _metadata(text: str) -> dict:
    number = _DOC_NUMBER.search(text)
    dates = list(_DATE.finditer(text))
    date = ""
    issuing: tuple[str, ...] = ()
    if dates:
        last = dates[-1]
        date = f"{int(last.group(1)):04d}-{int(last.group(2)):02d}-{int(last.group(3)):02d}"
        # The signature block sits between the last sentence and the date.
        block = text[: last.start()].rsplit("。", 1)[-1]
        issuing = tuple(dict.fromkeys(load_domain().split_run(re.sub(r"\s", "", block))))
    # The prefix class also swallows the preceding words (…的通知国科发区〔…〕): drop them.
    doc_number = re.sub(r"^.*(通知|决定|意见|办法|方案|函)", "", number.group()) if number else ""
    return {"doc_number": doc_number, "date": date, "issuing_bodies": issuing}


def _first_line_title(text: str, path: Path) -> str:
    first = text.split("\n", 1)[0].strip()
    return first[:60] if 0 < len(first) <= 60 else path.stem


def _first_url(text: str) -> str:
    match = _URL.search(text)
    return match.group() if match else ""


def _slug(stem: str) -> str:
    slug = re.sub(r"[^\w\u4e00-\u9fff-]+", "-", stem).strip("-")
    return slug or hashlib.sha1(stem.encode()).hexdigest()[:8]
