"""The codec's one JSON decoder: msgspec when installed, the standard library otherwise.

:func:`loads` returns exactly what :func:`json.loads` returns for the same text, and
raises what it raises (``ValueError``, or ``RecursionError`` for JSON nested too
deeply), whichever decoder does the work. msgspec (``pip install
kwiff-scrapy[fast]``) decodes a 1.2 MB ``event:list`` answer in 4.3 ms where
``json.loads`` takes 9.8 (on the development machine); it returns the same values
for everything it accepts (integers of any size stay integers, duplicate keys keep
the last value, floats are correctly rounded), and the standard library takes over
for everything it refuses: ``NaN`` and ``Infinity``, numbers that overflow to
``inf``, escaped lone surrogates (``"\\ud800"``), malformed input (so that the error
is the standard library's). orjson was measured too (4.0 ms) but turns integers
beyond 64 bits into floats, a silent difference.

Bytes are UTF-8 text (a text frame as received, or the codec's own encoding of a
``str``): the fast decoder reads them in place, without a ``str`` copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_json_loads = json.loads

try:
    import msgspec
except ImportError:  # pragma: no cover - the standard library only
    fast_loads: Callable[[bytes | str], Any] | None = None
    DECODER = "json (standard library; pip install kwiff-scrapy[fast] for msgspec)"
else:
    fast_loads = msgspec.json.Decoder().decode
    DECODER = f"msgspec {msgspec.__version__}"
"""The fast decoder alone (None without msgspec): where it returns, it returns what
``json.loads`` would; where it raises, only ``json.loads`` can tell what to do."""


def loads(data: str | bytes, *, surrogatepass: bool = False) -> Any:
    """Decode one JSON document, exactly as ``json.loads(text)`` does.

    *data* is the text, or its UTF-8 encoding: strict UTF-8 (bytes that are not
    raise ``ValueError``, as invalid text would), or with ``surrogatepass=True`` the
    codec's own encoding of a ``str`` that may hold lone surrogates. Raises
    ``ValueError`` for what is not JSON and ``RecursionError`` for nesting too deep.
    """
    fast = fast_loads
    if fast is not None:
        try:
            # A non-ASCII str would get a cached UTF-8 copy for msgspec; bytes do not.
            if type(data) is str and not data.isascii():
                return fast(data.encode("utf-8", "surrogatepass"))
            return fast(data)
        except Exception:  # refused: the standard library decides
            pass
    if not isinstance(data, str):
        data = data.decode("utf-8", "surrogatepass" if surrogatepass else "strict")
    return _json_loads(data)
