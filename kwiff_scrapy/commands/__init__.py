"""Scrapy commands of kwiff_scrapy, registered by the ``scrapy.commands`` entry point.

``scrapy kwiff`` (:mod:`kwiff_scrapy.commands.kwiff`) has two subcommands, each in its
own module: ``fetch-events`` (:mod:`~kwiff_scrapy.commands.fetch_events`) and
``history`` (:mod:`~kwiff_scrapy.commands.history`). Both work inside a Scrapy
project and outside any.
"""
