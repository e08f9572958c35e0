"""The ``scrapy kwiff`` command."""
