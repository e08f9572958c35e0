"""What the Scrapy integration relies on beyond Scrapy's public API, named in one place.

Scrapy's own download handlers touch only public names; these two shortcuts do
not, each saving a cost paid on every command. The integration uses no other
private Scrapy name (``distributed/`` and the alerts pipeline name theirs where
they use them).

Written against Scrapy 2.19.0. What it relies on, and why:

``TextResponse._cached_decoded_json`` and ``scrapy.http.response.text._NONE``
    ``TextResponse.json()`` decodes the body once and keeps the result in
    ``_cached_decoded_json``, which holds the module's ``_NONE`` until then. The
    handler stores there what the codec has already decoded, so that an answer is
    not decoded twice (:func:`cache_decoded_json`); ``KwiffResponse.decoded`` and
    ``KwiffResponse.json()`` compare it with ``_NONE`` (:data:`NOT_DECODED`). Were
    ``_NONE`` gone, every response would count as decoded: still correct answers
    through Scrapy's own ``json()``, but no longer the fast ways round it.
``type(collector).inc_value``
    ``StatsCollector.__getattribute__`` wraps the ``inc_value`` of an instance in a
    check of the deprecated ``spider`` argument, which costs more than the count;
    the handler counts three times per command, so it calls the class's function
    with the collector (:func:`stats_incrementer`).

``tests/test_library_assumptions.py`` checks each of these, with the behaviour relied
on, and fails the day a Scrapy release changes one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from scrapy.http.response import text as _text_response

if TYPE_CHECKING:
    from scrapy.http import TextResponse
    from scrapy.statscollectors import StatsCollector

#: What ``TextResponse`` caches before its body is decoded (``_cached_decoded_json``).
NOT_DECODED: Final[object] = getattr(_text_response, "_NONE", object())


def decoded_json(response: TextResponse) -> object:
    """What ``response.json()`` has kept: the decoded body, or :data:`NOT_DECODED`."""
    return response._cached_decoded_json


def cache_decoded_json(response: TextResponse, value: object) -> None:
    """Have ``response.json()`` return *value* (the body decoded) without decoding it."""
    response._cached_decoded_json = value


def stats_incrementer(collector: StatsCollector) -> Callable[[str, int], None]:
    """``collector.inc_value(key, count)``, without the wrapper Scrapy adds per instance."""
    return functools.partial(type(collector).inc_value, collector)
