"""Pickling of the watch's state for ``JOBDIR``: the format ``SpiderState`` reads back."""

from __future__ import annotations

import pickle
from typing import Any

#: The pickle protocol ``SpiderState`` writes with.
PROTOCOL = 4


class Pickled:
    """An object already pickled: unpickled, it is that object again.

    Pickling a big state piece by piece, each piece wrapped in one of these, lets a thread
    give the GIL (and so the event loop) back between two pieces; the whole reads back
    with a plain ``pickle.loads``."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return pickle.loads, (self.data,)
