"""Whole scenarios: ``scrapy crawl`` subprocesses, faults, load, shutdown, several layers."""
