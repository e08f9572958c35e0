"""Spiders of the kwiff_scrapy project."""
