"""The connection layer: Kwiff sessions over ``websockets.asyncio``, without Scrapy.

- :mod:`.session`: one WebSocket connection (handshake, commands, EIO 3 heartbeat).
- ``kwiff_scrapy.websockets_internals`` (below every layer that uses websockets, the
  simulator included): the session's ``ClientConnection`` subclass and the connection
  abort, the one module that relies on websockets' undocumented names (listed at its top).
- :mod:`.pool`: a fixed number of session slots per endpoint, with reconnect backoff.
- :mod:`.connector`: endpoint (and simulator), proxy and pool choice for every front end.
- :mod:`.endpoint`, :mod:`.proxy`: the connect URL and headers, the proxy choice (pure).
- :mod:`.errors`: the one tree of errors a session raises.
"""
