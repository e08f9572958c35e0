"""The codec's one JSON decoder: msgspec when installed, the standard library otherwise.

:func:`loads` returns exactly what :func:`json.loads` returns for the same text, and
raises what it raises (``ValueError``, or ``RecursionError`` for JSON nested too
deeply), whichever decoder does the work. msgspec (a dependency of the package; without
it everything works the same, more slowly) decodes a 1.2 MB ``event:list`` answer in 4.3
ms where ``json.loads`` takes 9.8 (on the development machine); it returns the same
values for everything it accepts (integers of any size stay integers, duplicate keys
keep the last value, floats are correctly rounded), and the standard library takes over
for everything it refuses: ``NaN`` and ``Infinity``, numbers that overflow to ``inf``,
escaped lone surrogates (``"\\ud800"``), malformed input (so that the error is the
standard library's). orjson was measured too (4.0 ms) but turns integers beyond 64 bits
into floats, a silent difference.

Bytes are UTF-8 text (a text frame as received, or the codec's own encoding of a
``str``): the fast decoder reads them in place, without a ``str`` copy.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from typing import Any

_json_loads = json.loads
_utf8_decoder = codecs.getincrementaldecoder("utf-8")
#: UTF-8 is checked this many bytes at a time, so that no copy of a big text is made.
_UTF8_CHECK_CHUNK = 1 << 16

try:
    import msgspec
except ImportError:  # pragma: no cover - the standard library only
    fast_loads: Callable[[bytes | str], Any] | None = None
    _scan_array: Callable[[bytes], Any] | None = None
    DECODER = "json (standard library: msgspec, a dependency, is not installed)"
else:
    fast_loads = msgspec.json.Decoder().decode
    # Checks the syntax of every element without building it (msgspec.Raw: a slice).
    _scan_array = msgspec.json.Decoder(list[msgspec.Raw]).decode
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


def is_json_array(data: bytes) -> bool:
    """True if *data* is strict UTF-8 holding one JSON array that :func:`loads` decodes.

    About a tenth of the cost of decoding it, and no copy: what lets a large answer be
    checked when it arrives and decoded only if someone asks (perhaps straight into
    typed objects). False means "not known": without msgspec, and for what msgspec
    refuses (``NaN``, escaped lone surrogates...), only decoding can tell.
    """
    scan = _scan_array
    if scan is None:
        return False
    try:
        scan(data)
    except (msgspec.DecodeError, RecursionError):
        return False
    return data.isascii() or _is_utf8(data)


def _is_utf8(data: bytes) -> bool:
    """Strict UTF-8 (as ``bytes.decode`` checks it), read in chunks, keeping no text."""
    decoder = _utf8_decoder("strict")
    view = memoryview(data)
    try:
        for start in range(0, len(view), _UTF8_CHECK_CHUNK):
            decoder.decode(view[start : start + _UTF8_CHECK_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True
