"""The CSV feed exporter the add-on registers: times a spreadsheet reads as dates.

A CSV cell ``2026-12-08T17:45:00.000Z`` is text to Excel and LibreOffice; written
``2026-12-08 17:45:00`` it is a date and time (UTC, as every time of the items). Other
feed formats keep ISO 8601. Everything else is Scrapy's ``CsvItemExporter``.
"""

from __future__ import annotations

from typing import Any

from scrapy.exporters import CsvItemExporter

from ..model.values import TIME_FIELDS, spreadsheet_time


class KwiffCsvItemExporter(CsvItemExporter):
    """Scrapy's CSV exporter, writing the items' times (:data:`TIME_FIELDS`) as
    ``YYYY-MM-DD HH:MM:SS`` UTC."""

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        if name in TIME_FIELDS:
            value = spreadsheet_time(value)
        return super().serialize_field(field, name, value)
