"""Preparing an uploaded file where it can be stopped: a child process with a time limit.

A server must be able to give up on an upload whose time ran out. A thread cannot be
stopped, and ``prepare_document`` on a large text parses for as long as it takes, so the
server runs it in a child process (``python -P -m archive.isolated``) limited in memory and
CPU, and kills the child's whole process group (a PDF's reader included) when the time is
up: the work stops and its memory goes with it. The command line prepares in its own
process: Ctrl-C stops it.

The child reads a JSON line of arguments and then the file's bytes on stdin, and answers
with a pickle of ``("prepared", PreparedDocument)`` or ``("refused", reason)`` on stdout.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import asdict

from archive.errors import DocumentRefused, TimedOut
from archive.ingest import PreparedDocument, prepare_document
from archive.pdf import PdfLimits, child_environment

MEMORY_BYTES = 2 << 30  # the child's address space: far above what any report needs


class PreparationTimeout(TimedOut, RuntimeError):
    """The file was not read within its time; nothing was stored."""


def prepare_isolated(
    data: bytes,
    source_name: str,
    *,
    seconds: float,
    fiscal_year: int | None = None,
    municipality: str | None = None,
    pdf_limits: PdfLimits | None = None,
) -> PreparedDocument:
    """``prepare_document`` in a child process stopped after ``seconds``; raises
    ``DocumentRefused`` as it does, and ``PreparationTimeout`` when the time ran out."""
    if seconds <= 0:
        raise PreparationTimeout("no time was left to read the file")
    arguments = {
        "source_name": source_name,
        "fiscal_year": fiscal_year,
        "municipality": municipality,
        "pdf_limits": asdict(pdf_limits or PdfLimits()),
        "cpu_seconds": max(1, int(seconds) + 1),
    }
    child = subprocess.Popen(
        [sys.executable, "-P", "-m", "archive.isolated"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_environment(),
        start_new_session=True,  # its own process group: a PDF reader below it goes too
    )
    try:
        answer, errors = child.communicate(
            json.dumps(arguments).encode() + b"\n" + data, timeout=seconds
        )
    except subprocess.TimeoutExpired:
        raise PreparationTimeout(f"reading the file took longer than {seconds:.1f} s") from None
    finally:
        if child.returncode is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
    if child.returncode != 0 or not answer:
        if b"MemoryError" in errors:
            raise DocumentRefused(source_name, "the file needs too much memory to read; refused")
        last = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"preparing {source_name} failed in its child process: {last[0]}")
    kind, value = pickle.loads(answer)  # our own child's answer
    if kind == "refused":
        raise DocumentRefused(source_name, value)
    assert isinstance(value, PreparedDocument)
    return value


def _child() -> None:
    import resource

    arguments = json.loads(sys.stdin.buffer.readline())
    for which, limit in (
        (resource.RLIMIT_AS, MEMORY_BYTES),
        (resource.RLIMIT_CPU, arguments["cpu_seconds"]),
    ):
        _, ceiling = resource.getrlimit(which)
        if ceiling != resource.RLIM_INFINITY:
            limit = min(limit, ceiling)
        resource.setrlimit(which, (limit, ceiling))
    data = sys.stdin.buffer.read()
    try:
        prepared = prepare_document(
            data,
            arguments["source_name"],
            fiscal_year=arguments["fiscal_year"],
            municipality=arguments["municipality"],
            pdf_limits=PdfLimits(**arguments["pdf_limits"]),
        )
    except DocumentRefused as refusal:
        answer: tuple[str, object] = ("refused", refusal.reason)
    else:
        answer = ("prepared", prepared)
    sys.stdout.buffer.write(pickle.dumps(answer))


if __name__ == "__main__":
    _child()
