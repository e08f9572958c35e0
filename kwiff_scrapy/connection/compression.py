"""permessage-deflate that sends small messages as they are.

RFC 7692 (section 6) lets an endpoint that negotiated permessage-deflate send any
message uncompressed, by leaving its RSV1 bit clear, and requires the other end to
accept it. A command frame is a few hundred bytes: compressing it costs the client a
``compress`` and a sync flush, and the server an inflate, for a handful of bytes
saved. Node's ``ws``, which Node Socket.IO servers run on, leaves messages under
1 KiB uncompressed by default (its ``threshold``), and so does this client. Larger
messages, and every message the server sends, are compressed and decompressed as
websockets does.

Only websockets' extension API is used, and one thing it does not document: that
``PerMessageDeflate`` keeps its constructor's arguments as attributes of the same
names (read to build the subclass from what was agreed; checked in
``tests/test_library_assumptions.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.frames import Frame, Opcode
from websockets.typing import ExtensionParameter

#: Messages shorter than this (in bytes, before compression) leave uncompressed.
UNCOMPRESSED_BELOW = 1024

#: What websockets' ``compression="deflate"`` configures (``memLevel`` 5).
_COMPRESS_SETTINGS = {"memLevel": 5}


class SmallMessagesUncompressed(PerMessageDeflate):
    """``PerMessageDeflate`` whose single-frame messages under a size go uncompressed.

    A message in fragments is compressed whole, from its first frame on, as before;
    an uncompressed message does not touch the compressor's state, so context
    takeover goes on across it.
    """

    def encode(self, frame: Frame) -> Frame:
        if frame.fin and frame.opcode is not Opcode.CONT and len(frame.data) < UNCOMPRESSED_BELOW:
            return frame  # control frames too, as the parent does
        return super().encode(frame)


class ClientDeflateFactory(ClientPerMessageDeflateFactory):
    """The offer of websockets' ``compression="deflate"``, with small messages sent as they are."""

    def __init__(self) -> None:
        super().__init__(compress_settings=dict(_COMPRESS_SETTINGS))

    def process_response_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> PerMessageDeflate:
        agreed = super().process_response_params(params, accepted_extensions)
        return SmallMessagesUncompressed(
            agreed.remote_no_context_takeover,
            agreed.local_no_context_takeover,
            agreed.remote_max_window_bits,
            agreed.local_max_window_bits,
            agreed.compress_settings,
        )
