"""Scrapy signals sent by the Kwiff download handler.

``unsolicited_event``: the server pushed an event no command asked for (for
example the ``response`` event of the opening sequence). Handlers receive
``name`` (the event name), ``args`` (its JSON arguments) and ``endpoint``.
"""

unsolicited_event = object()
