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
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from archive.decode import DecodeError, make_storable

PAGE_BREAK = "\f"
# The folder holding the ``archive`` package: the child imports this code, never a module of
# the same name in its working folder (``-P`` keeps the working folder off ``sys.path``).
_CODE_ROOT = str(Path(__file__).resolve().parent.parent)
# What the child inherits: enough to run Python, nothing else (no store URL, no tokens).
_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONHOME", "SYSTEMROOT", "TMPDIR")
# At most this many PDFs are read at once in one process (each may use its memory limit).
_READERS = threading.BoundedSemaphore(2)

logger = logging.getLogger("plan_archive.pdf")


@dataclass(frozen=True)
class PdfLimits:
    seconds: float = 60.0  # wall clock, for the whole file
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30  # address space of the reading process
    max_pages: int = 2000
    max_characters: int = 5_000_000  # far above any plan report; a bomb of text stops here


def child_environment() -> dict[str, str]:
    """The environment of a child process that reads a file: enough to run this code's
    Python, nothing else (no store URL, no tokens)."""
    environment = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
    return environment | {"PYTHONPATH": _CODE_ROOT, "PYTHONWARNINGS": "ignore"}


def is_pdf(data: bytes) -> bool:
    # The header may follow up to 1 KiB of junk (the PDF specification allows it).
    return b"%PDF-" in data[:1024]


def extract_text(data: bytes, limits: PdfLimits = PdfLimits()) -> str:
    """The text of every page, pages after the first starting with a form feed.

    Raises ``DecodeError`` with a one-line reason when the file cannot be read: truncated,
    encrypted, not really a PDF, no text layer, or over a limit.
    """
    # Writers may pad the file after its last %%EOF (NULs, newlines); a cut file has none.
    if b"%%EOF" not in data.rstrip(b"\0\r\n\t ")[-2048:]:
        raise DecodeError("the PDF is truncated or damaged (it has no end-of-file marker)")
    command = [sys.executable, "-P", "-m", "archive.pdf", json.dumps(limits.__dict__)]
    environment = child_environment()
    try:
        with _READERS:
            done = subprocess.run(
                command,
                input=data,
                capture_output=True,
                timeout=limits.seconds,
                env=environment,
            )
    except subprocess.TimeoutExpired:
        raise DecodeError(
            f"reading the PDF took longer than {limits.seconds:g} s; refused"
        ) from None
    if done.returncode != 0 or not done.stdout:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        logger.warning("PDF reader exited with %s: %s", done.returncode, lines[-1:] or "")
        raise DecodeError(_failure(done.returncode, done.stderr, limits))
    answer = json.loads(done.stdout)
    if "refused" in answer:
        raise DecodeError(answer["refused"])
    # What the reader makes of a font's ToUnicode map: a glyph mapped to U+0000 (how some
    # writers say "no character") is dropped, and one mapped to half a surrogate pair (a
    # broken map) is U+FFFD. Neither is in the printed text, and no store could hold them.
    pages = [make_storable(page) for page in answer["pages"]]
    if not any(page.strip() for page in pages):
        raise DecodeError("the PDF has no text layer (scanned pages?); it needs OCR first")
    return join_pages(pages)


def join_pages(pages: list[str]) -> str:
    """Pages as one text: each tidied, every page after the first starting with a form feed."""
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
    lines = text.split("\n")
    return [1] + [n for n, line in enumerate(lines[1:], start=2) if line.startswith(PAGE_BREAK)]


def page_of(starts: list[int], line: int) -> int:
    """The page (1-based) of a line, given ``page_starts``."""
    return bisect_right(starts, line)


def _failure(code: int, stderr: bytes, limits: PdfLimits) -> str:
    message = stderr.decode("utf-8", "replace")
    if "MemoryError" in message or "[Errno 12]" in message:  # ENOMEM: out of address space
        return f"reading the PDF needs more than {limits.memory_bytes >> 20} MB; refused"
    if code == -signal.SIGXCPU:
        return f"reading the PDF used more than {limits.cpu_seconds} s of CPU; refused"
    if code == -signal.SIGKILL:  # the CPU hard limit, or the system out of memory
        return "the PDF reader was killed (out of CPU time or memory); refused"
    if "RecursionError" in message:
        return "the PDF nests its objects too deeply to read; refused"
    return "the PDF could not be read (its reader failed)"


def _child(limits: PdfLimits) -> dict[str, object]:
    """Runs in the child process: limit ourselves, then read stdin."""
    import resource

    # CPU: SIGXCPU at the soft limit, SIGKILL a second later. Never above a hard limit the
    # process already has: an unprivileged process cannot raise it.
    for which, soft, hard in (
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
    ):
        _, ceiling = resource.getrlimit(which)
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(which, (soft, hard))
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
        pages = []
        size = 0
        for page in reader.pages:
            pages.append(page.extract_text(extraction_mode="layout"))
            size += len(pages[-1])
            if size > limits.max_characters:
                return {"refused": f"the PDF holds over {limits.max_characters:,} characters"}
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
    sys.stdout.buffer.write(json.dumps(_child(settings)).encode("ascii"))
