"""Scrapy's side: the download handler, requests and responses, settings, the add-on."""
