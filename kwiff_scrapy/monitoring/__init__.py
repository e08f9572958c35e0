"""Watching a crawl from outside: Prometheus metrics (the ``metrics`` extra).

- :mod:`.names`: which Prometheus metric each stats key becomes (pure code);
- :mod:`.config`: ``KWIFF_METRICS_*``, read once;
- :mod:`.metrics`: the extension serving them over HTTP (enabled by the add-on when
  ``KWIFF_METRICS_PORT`` is set);
- :mod:`.periodic_log`: Scrapy's own ``PeriodicLog`` extension on one line, which the
  add-on enables and configures for the watch (:mod:`kwiff_scrapy.integration.addon`).

Importing this package does not import prometheus-client; :mod:`.metrics` does.
"""
