"""The service's time format, written by model/values.py for every front end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from kwiff_scrapy.model.values import iso_utc, iso_utc_datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_a_utc_moment_is_written_as_the_service_writes_times() -> None:
    moment = datetime(2026, 1, 20, 15, 12, 6, 610_000, tzinfo=UTC)
    assert iso_utc_datetime(moment) == "2026-01-20T15:12:06.610Z"


def test_a_moment_elsewhere_is_written_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 1, 20, 16, 12, 6, 610_000, tzinfo=paris)
    assert iso_utc_datetime(moment) == "2026-01-20T15:12:06.610Z"


def test_a_naive_moment_is_taken_as_utc() -> None:
    assert iso_utc_datetime(datetime(2026, 1, 20, 17, 45)) == "2026-01-20T17:45:00.000Z"


def test_digits_below_the_millisecond_are_dropped_not_rounded() -> None:
    moment = datetime(2026, 1, 20, 15, 12, 6, 610_999, tzinfo=UTC)
    assert iso_utc_datetime(moment) == "2026-01-20T15:12:06.610Z"


def test_milliseconds_out_of_range_have_no_time() -> None:
    assert iso_utc(10**20) is None


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_milliseconds_and_the_moment_they_mean_are_written_alike(timestamp_ms: int) -> None:
    moment = EPOCH + timedelta(milliseconds=timestamp_ms)
    assert iso_utc(timestamp_ms) == iso_utc_datetime(moment)
    assert datetime.fromisoformat(iso_utc_datetime(moment)) == moment
