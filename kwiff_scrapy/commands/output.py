"""Printing what a ``scrapy kwiff`` subcommand was asked for."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def echo(text: str, stream: TextIO) -> None:
    """Print *text*; characters the stream cannot encode become '?' rather than an error."""
    try:
        print(text, file=stream, flush=True)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        print(text.encode(encoding, "replace").decode(encoding), file=stream, flush=True)


def stop_writing_to_stdout() -> None:
    """After a ``BrokenPipeError`` on standard output: send what is left to /dev/null.

    Otherwise Python reports the same broken pipe again when it flushes standard output
    at exit (the recipe of the ``signal`` module's documentation).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
