"""Tests for core.times: formatting, DST resolution and zone lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core.times import (
    UnknownZone,
    as_utc,
    format_clock,
    format_short,
    format_when,
    get_zone,
    is_valid_zone,
    localize,
    to_local,
    utc_now,
)

BERLIN = get_zone("Europe/Berlin")
NEW_YORK = get_zone("America/New_York")
NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dt", "tz", "expected"),
    [
        (datetime(2026, 12, 4, 16, 30, tzinfo=UTC), BERLIN, "Fri 4 Dec 17:30, Europe/Berlin"),
        (datetime(2026, 12, 4, 16, 30, 15, tzinfo=UTC), BERLIN, "Fri 4 Dec 17:30:15, Europe/Berlin"),
        (datetime(2027, 12, 3, 16, 30, tzinfo=UTC), BERLIN, "Fri 3 Dec 2027 17:30, Europe/Berlin"),
        (datetime(2026, 3, 5, 4, 5, tzinfo=UTC), NEW_YORK, "Wed 4 Mar 23:05, America/New_York"),
        (datetime(2026, 7, 1, 0, 0, 0, 999, tzinfo=UTC), get_zone("UTC"), "Wed 1 Jul 00:00, UTC"),
    ],
)
def test_format_when(dt: datetime, tz: ZoneInfo, expected: str) -> None:
    assert format_when(dt, tz, now=NOW) == expected


def test_year_is_judged_in_the_zone() -> None:
    new_year_in_berlin = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 Jan 2027 in Berlin
    due = datetime(2027, 1, 5, 8, tzinfo=UTC)
    assert format_short(due, BERLIN, now=new_year_in_berlin) == "Tue 5 Jan 09:00"
    assert format_short(due, get_zone("UTC"), now=new_year_in_berlin) == "Tue 5 Jan 2027 08:00"


def test_format_short_and_clock() -> None:
    dt = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    assert format_short(dt, BERLIN, now=NOW) == "Fri 4 Dec 17:30"
    assert format_short(dt.replace(second=5), BERLIN, now=NOW) == "Fri 4 Dec 17:30:05"
    assert format_clock(datetime(2026, 3, 4, 7, 0, 59, tzinfo=UTC), BERLIN) == "08:00"


def test_format_accepts_any_aware_input() -> None:
    plus_two = datetime(2026, 12, 4, 18, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_when(plus_two, BERLIN, now=NOW) == "Fri 4 Dec 17:30, Europe/Berlin"


def test_localize_plain_time() -> None:
    assert localize(datetime(2026, 7, 1, 9), BERLIN) == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert localize(datetime(2026, 7, 1, 9), BERLIN).tzinfo is UTC


def test_localize_gap_moves_forward_by_the_gap() -> None:
    due = localize(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert to_local(due, BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)
    assert localize(datetime(2026, 3, 8, 2, 15), NEW_YORK) == datetime(2026, 3, 8, 7, 15, tzinfo=UTC)


def test_localize_overlap_takes_the_first_occurrence() -> None:
    assert localize(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert localize(datetime(2026, 11, 1, 1, 30), NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # fold=1 on the input doesn't change the documented choice
    assert localize(datetime(2026, 10, 25, 2, 30, fold=1), BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_naive_and_aware_guards() -> None:
    with pytest.raises(ValueError):
        localize(datetime(2026, 1, 1, tzinfo=UTC), BERLIN)
    with pytest.raises(ValueError):
        as_utc(datetime(2026, 1, 1))
    assert as_utc(datetime(2026, 1, 1, 1, tzinfo=BERLIN)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert utc_now().utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        (" AMERICA/NEW_YORK ", "America/New_York"),
        ("utc", "UTC"),
    ],
)
def test_zone_names_are_case_insensitive(name: str, canonical: str) -> None:
    assert get_zone(name).key == canonical
    assert is_valid_zone(name)


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus",
        "../etc",
        "",
        " ",
        "Europe/",
        "/etc/passwd",
        "localtime",
        "posixrules",
        "Factory",
        "Europe/Berlin\x00",
    ],
)
def test_bad_zones(name: str) -> None:
    assert not is_valid_zone(name)
    with pytest.raises(UnknownZone, match="Europe/Berlin"):
        get_zone(name)
    with pytest.raises(ValueError):
        get_zone(name)
