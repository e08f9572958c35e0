"""Several workers through Redis (scrapy-redis)."""
