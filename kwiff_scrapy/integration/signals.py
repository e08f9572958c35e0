"""Scrapy signals of kwiff_scrapy.

``unsolicited_event``: the server pushed an event no command asked for (for
example the ``response`` event of the opening sequence). Sent by the download
handler; handlers receive ``name`` (the event name), ``args`` (its JSON
arguments) and ``endpoint`` (the URL of the connection that got it).

``poll_finished``: the watch spider has yielded every change of one poll.
Handlers receive ``poll`` (the poll's number, from 1 in this run), ``changes``
(how many ``OddsChange`` and ``EventChange`` items it yielded) and ``failed``
(True if the poll, or part of it, failed and was not compared). The alerts
pipeline sends the changes of one poll together when it gets this signal.

``watch_notice``: the watch has something to say about itself: it went blind
(``KWIFF_WATCH_BLIND_AFTER`` failed polls in a row) or sees again. Handlers receive
``text`` (the one line to send) and ``blind`` (True: went blind; False: sees again).
The alerts pipeline sends it through every route.
"""

unsolicited_event = object()
poll_finished = object()
watch_notice = object()
