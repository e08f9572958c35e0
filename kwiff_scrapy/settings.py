"""Settings of the kwiff_scrapy Scrapy project (``scrapy crawl kwiff_football``)."""

from kwiff_scrapy import defaults

BOT_NAME = "kwiff_scrapy"
SPIDER_MODULES = ["kwiff_scrapy.spiders"]
NEWSPIDER_MODULE = "kwiff_scrapy.spiders"

ADDONS = {"kwiff_scrapy.Addon": defaults.ADDON_PRIORITY}

# KWIFF_ENDPOINT = "simulator"   # run offline against the built-in simulator
# KWIFF_COUNTRY = "IE"           # the event lists' country (default GB)
# Every KWIFF_* setting, with its default, is in docs/settings.md.

# Kwiff's service is one host: be polite, and let AutoThrottle adapt if enabled.
CONCURRENT_REQUESTS_PER_DOMAIN = 8
FEED_EXPORT_ENCODING = "utf-8"
TELNETCONSOLE_ENABLED = False
