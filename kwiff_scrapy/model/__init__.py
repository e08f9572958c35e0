"""The data model: items, tolerant parsing of answers into items, the sport registry."""
