"""Settings of the kwiff_scrapy Scrapy project (``scrapy crawl kwiff_football``).

``scrapy crawl`` in this clone reads this file (``scrapy.cfg`` names it) as long as the
clone is installed with ``pip install -e .``, as the README says: an edit here takes
effect at the next crawl. ``-s NAME=VALUE`` overrides a setting for one run.
"""

from kwiff_scrapy import defaults
from kwiff_scrapy.project import warn_if_not_the_clones

warn_if_not_the_clones(__file__)

BOT_NAME = "kwiff_scrapy"
SPIDER_MODULES = ["kwiff_scrapy.spiders"]
NEWSPIDER_MODULE = "kwiff_scrapy.spiders"

ADDONS = {"kwiff_scrapy.Addon": defaults.ADDON_PRIORITY}
# `scrapy crawl` exits with status 1 when no Kwiff command was answered, and names the
# spiders when the one asked for does not exist (kwiff_scrapy/commands/crawl.py).
COMMANDS_MODULE = "kwiff_scrapy.commands"

# KWIFF_ENDPOINT = "simulator"   # run offline against the built-in simulator
# KWIFF_COUNTRY = "IE"           # the event lists' country (default GB)
# Every KWIFF_* setting, with its default, is in docs/settings.md.

# Kwiff's service is one host: be polite, and let AutoThrottle adapt if enabled.
CONCURRENT_REQUESTS_PER_DOMAIN = 8
FEED_EXPORT_ENCODING = "utf-8"
# INFO: what a crawl did, without every item (Scrapy logs each one, whole, at DEBUG).
# -L DEBUG (or -s LOG_LEVEL=DEBUG) shows them.
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
