"""Scrapy commands of kwiff_scrapy, registered by the ``scrapy.commands`` entry point.

``scrapy kwiff fetch-events`` (:mod:`kwiff_scrapy.commands.kwiff`) works inside a
Scrapy project and outside any.
"""
