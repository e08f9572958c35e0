"""The codec's exceptions: :class:`ProtocolError` for input it cannot decode,
:class:`InvalidState` for a request the connection's state does not allow."""

from __future__ import annotations

#: How much of an offending frame a :class:`ProtocolError` keeps and shows.
FRAME_EXCERPT_CHARS = 200


def excerpt(frame: str | bytes, limit: int = FRAME_EXCERPT_CHARS) -> str:
    """Return a printable, truncated rendering of *frame* for error messages and logs."""
    if isinstance(frame, bytes | bytearray | memoryview):
        shown = bytes(frame[:limit]).hex(" ")
        total = len(frame)
        return f"<{total} bytes: {shown}{' …' if total > limit else ''}>"
    if len(frame) <= limit:
        return repr(frame)
    return f"{frame[:limit]!r}… ({len(frame)} chars)"


class ProtocolError(ValueError):
    """A frame or packet that is not valid Engine.IO 3 / Socket.IO (revision 4).

    ``frame`` holds the offending input, truncated to :data:`FRAME_EXCERPT_CHARS`
    characters (or bytes) so that logging it is always cheap.
    """

    def __init__(self, reason: str, frame: str | bytes) -> None:
        self.reason = reason
        self.frame: str | bytes = frame[:FRAME_EXCERPT_CHARS]
        self.frame_length = len(frame)
        super().__init__(f"{reason}: {excerpt(frame)}")


class InvalidState(RuntimeError):
    """A request the connection's state does not allow, such as a command once it is closed.

    A bug in the I/O layer rather than bad input: it must stop sending when the
    connection ends.
    """
