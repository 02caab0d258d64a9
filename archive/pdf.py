"""PDF to text: pypdf in a child process with memory, CPU and time limits.

PDF readers have a history of decompression bombs, endless object recursion and parser
crashes, so the file is read in a separate Python process (``python -m archive.pdf``) that
limits its own address space and CPU time before it touches the bytes, and that the parent
kills when the wall-clock limit passes. The child answers with JSON on stdout; whatever
happens to it, the parent turns the outcome into one line for the user.

Why pypdf in layout mode: ``bench/pdf_bench.py`` extracts PDFs of three reports in three
layouts (lines as in the sample, a bordered form, and a form whose labels sit in their own
column) with pdfminer.six and pypdf, and parses each result. pypdf's layout mode, which
orders text by its place on the page rather than by its order in the file, read all 108
measures identical to the text files'; pdfminer.six's default analysis read none from
either form (it splits a row's cells into separate paragraphs), and pypdf's plain mode lost
the column form (the file draws values before their labels). See
``docs/decisions/0005-pdf-reading.md``.

The text keeps the pages: page 2 onwards starts with a form feed (``\\f``) on its own line's
start, so a line number in the text tells its page (``page_of``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from bisect import bisect_right
from dataclasses import dataclass

from archive.decode import DecodeError

PAGE_BREAK = "\f"


@dataclass(frozen=True)
class PdfLimits:
    seconds: float = 60.0  # wall clock, for the whole file
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30  # address space of the reading process
    max_pages: int = 2000


def is_pdf(data: bytes) -> bool:
    # The header may follow up to 1 KiB of junk (the PDF specification allows it).
    return b"%PDF-" in data[:1024]


def extract_text(data: bytes, limits: PdfLimits = PdfLimits()) -> str:
    """The text of every page, pages after the first starting with a form feed.

    Raises ``DecodeError`` with a one-line reason when the file cannot be read: truncated,
    encrypted, not really a PDF, no text layer, or over a limit.
    """
    if b"%%EOF" not in data[-2048:]:
        raise DecodeError("the PDF is truncated (it has no end-of-file marker)")
    command = [sys.executable, "-m", "archive.pdf", json.dumps(limits.__dict__)]
    try:
        done = subprocess.run(
            command,
            input=data,
            capture_output=True,
            timeout=limits.seconds,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        raise DecodeError(
            f"reading the PDF took longer than {limits.seconds:g} s; refused"
        ) from None
    if done.returncode != 0 or not done.stdout:
        raise DecodeError(_failure(done.returncode, done.stderr, limits))
    answer = json.loads(done.stdout)
    if "refused" in answer:
        raise DecodeError(answer["refused"])
    pages: list[str] = answer["pages"]
    if not any(page.strip() for page in pages):
        raise DecodeError("the PDF has no text layer (scanned pages?); it needs OCR first")
    return f"\n{PAGE_BREAK}".join(tidy(page) for page in pages)


def tidy(page: str) -> str:
    """A page as lines of text: trailing spaces dropped, and a run of spaces inside a line
    (how layout extraction renders justified text and distant cells) made one space.
    Leading spaces stay: they are the line's indent."""
    lines = []
    for line in page.rstrip().split("\n"):
        body = line.lstrip(" ")
        lines.append(line[: len(line) - len(body)] + _SPACES.sub(" ", body.rstrip()))
    return "\n".join(lines)


_SPACES = re.compile(" {2,}")


def page_starts(text: str) -> list[int]:
    """The first line number (1-based) of each page; one page for a text file."""
    starts = [1]
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(PAGE_BREAK) and number > 1:
            starts.append(number)
    return starts


def page_of(starts: list[int], line: int) -> int:
    return bisect_right(starts, line)


def _failure(code: int, stderr: bytes, limits: PdfLimits) -> str:
    message = stderr.decode("utf-8", "replace")
    if "MemoryError" in message:
        return f"reading the PDF needs more than {limits.memory_bytes >> 20} MB; refused"
    if code in (-9, -24, 137, 152):  # SIGKILL, SIGXCPU
        return f"reading the PDF used more than {limits.cpu_seconds} s of CPU; refused"
    if "RecursionError" in message:
        return "the PDF nests its objects too deeply to read; refused"
    return "the PDF could not be read (its reader failed)"


def _child(limits: PdfLimits) -> dict[str, object]:
    """Runs in the child process: limit ourselves, then read stdin."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    data = sys.stdin.buffer.read()
    import io
    import logging

    logging.disable(logging.CRITICAL)  # pypdf logs what it repairs; we answer in one line
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError
    except ImportError:
        return {"refused": "reading PDFs needs the pdf extra: pip install 'plan-archive[pdf]'"}
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return {"refused": "the PDF is encrypted and needs a password"}
        if len(reader.pages) > limits.max_pages:
            return {"refused": f"the PDF has more than {limits.max_pages} pages"}
        pages = [page.extract_text(extraction_mode="layout") for page in reader.pages]
    except (FileNotDecryptedError, DependencyError):
        return {"refused": "the PDF is encrypted in a way we cannot open"}
    except LimitReachedError:
        return {
            "refused": "the PDF inflates past the reader's limits (a compression bomb?); refused"
        }
    except (MemoryError, RecursionError):
        raise  # the parent names these from our exit
    except Exception as error:  # whatever a malformed file makes the reader raise
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        return {"refused": f"not a readable PDF ({reason})"}
    return {"pages": pages}


if __name__ == "__main__":
    settings = PdfLimits(**json.loads(sys.argv[1]))
    sys.stdout.write(json.dumps(_child(settings), ensure_ascii=False))
