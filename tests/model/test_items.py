"""The items' fields as feeds export them: names and order are what users' files depend on."""

from __future__ import annotations

import io
import json

import pytest
from itemadapter import ItemAdapter
from scrapy.exporters import CsvItemExporter, JsonLinesItemExporter

from kwiff_scrapy.model.items import EventHeaderFields, OddsChange, OutcomeRow

HEADER = ["event_id", "sport_name", "competition_name", "home_team", "away_team", "start_time"]
OUTCOME = ["market_id", "market_name", "outcome_id", "outcome_name"]

EXPORTED_FIELDS = {
    OutcomeRow: [*HEADER, *OUTCOME, "odds", "fractional", "status", "fetched_at"],
    OddsChange: [
        *HEADER,
        *OUTCOME,
        "kind",
        "odds",
        "previous_odds",
        "fractional",
        "previous_fractional",
        "change",
        "fetched_at",
        "previous_fetched_at",
    ],
}


@pytest.mark.parametrize("item_class", EXPORTED_FIELDS)
def test_an_outcome_level_item_exports_the_event_header_first(
    item_class: type[EventHeaderFields],
) -> None:
    item = item_class(event_id=7, home_team="Arsenal", start_time="2026-12-05T15:00:00.000Z")
    csv_output, lines_output = io.BytesIO(), io.BytesIO()
    csv_exporter, lines_exporter = CsvItemExporter(csv_output), JsonLinesItemExporter(lines_output)
    csv_exporter.start_exporting()
    csv_exporter.export_item(item)
    csv_exporter.finish_exporting()
    lines_exporter.export_item(item)

    header, row = csv_output.getvalue().decode().splitlines()
    assert header.split(",") == EXPORTED_FIELDS[item_class]
    assert row.startswith("7,,,Arsenal,,2026-12-05T15:00:00.000Z,")
    assert list(json.loads(lines_output.getvalue())) == EXPORTED_FIELDS[item_class]
    assert list(ItemAdapter(item).field_names()) == EXPORTED_FIELDS[item_class]


def test_the_event_header_fields_are_declared_once_for_both() -> None:
    assert issubclass(OutcomeRow, EventHeaderFields)
    assert issubclass(OddsChange, EventHeaderFields)
    assert list(ItemAdapter(EventHeaderFields(event_id=1)).field_names()) == HEADER
