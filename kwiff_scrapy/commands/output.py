"""Printing what a ``scrapy kwiff`` subcommand was asked for."""

from __future__ import annotations

from typing import TextIO


def echo(text: str, stream: TextIO) -> None:
    """Print *text*; characters the stream cannot encode become '?' rather than an error."""
    try:
        print(text, file=stream, flush=True)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        print(text.encode(encoding, "replace").decode(encoding), file=stream, flush=True)
