"""Scrapy's side: the download handler, command requests and responses, the add-on,
the ``KWIFF_*`` settings object, signals and stats keys."""
