"""Item pipelines of kwiff_scrapy (enabled by the add-on when their settings are present)."""
