"""Tests for core.recurrence: DST-stable fixed-time rules, elapsed-time intervals, text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.recurrence import BadRule, Rule, describe, next_occurrence, parse_rule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
DAILY_9 = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
WEEKDAYS_930 = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30;BYSECOND=0"
MONDAY_10 = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0"
FIRST_OF_MONTH = "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0;BYSECOND=0"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def series(
    rule: str, start: datetime, tz: ZoneInfo, count: int, anchor: datetime | None = None
) -> list[datetime]:
    out: list[datetime] = []
    after = start
    for _ in range(count):
        after = next_occurrence(rule, after=after, tz=tz, anchor=anchor)
        out.append(after)
    return out


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        # Berlin springs forward on 29 March and falls back on 25 October 2026.
        (BERLIN, utc(2026, 3, 27, 12), [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]),
        (BERLIN, utc(2026, 10, 23, 12), [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]),
        # New York springs forward on 8 March and falls back on 1 November 2026.
        (NEW_YORK, utc(2026, 3, 6, 18), [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]),
        (
            NEW_YORK,
            utc(2026, 10, 30, 18),
            [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)],
        ),
    ],
)
def test_daily_stays_at_local_time_across_dst(
    tz: ZoneInfo, start: datetime, expected: list[datetime]
) -> None:
    got = series(DAILY_9, start, tz, 3)
    assert got == expected
    assert {due.astimezone(tz).strftime("%H:%M") for due in got} == {"09:00"}


def test_daily_in_gap_and_overlap() -> None:
    rule = "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0"
    # 02:30 doesn't exist on 29 March: it fires at 03:30 CEST
    assert next_occurrence(rule, after=utc(2026, 3, 28, 3), tz=BERLIN) == utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: it fires once, at the first
    assert series(rule, utc(2026, 10, 24, 3), BERLIN, 2) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


def test_strictly_after() -> None:
    assert next_occurrence(DAILY_9, after=utc(2026, 3, 4, 8), tz=BERLIN) == utc(2026, 3, 5, 8)
    assert next_occurrence(DAILY_9, after=utc(2026, 3, 4, 7, 59, 59), tz=BERLIN) == utc(2026, 3, 4, 8)


def test_weekday_rule_skips_the_weekend() -> None:
    friday_noon = utc(2026, 3, 6, 11)
    assert series(WEEKDAYS_930, friday_noon, BERLIN, 2) == [utc(2026, 3, 9, 8, 30), utc(2026, 3, 10, 8, 30)]


def test_monday_rule() -> None:
    monday_10_berlin = utc(2026, 3, 9, 9)
    assert series(MONDAY_10, monday_10_berlin, BERLIN, 3) == [
        utc(2026, 3, 16, 9),
        utc(2026, 3, 23, 9),
        utc(2026, 3, 30, 8),  # CEST from 29 March
    ]


def test_interval_steps_in_elapsed_time_from_the_anchor_across_dst() -> None:
    anchor = utc(2026, 3, 28, 23)  # 00:00 local on spring-forward day in Berlin
    rule = "FREQ=HOURLY;INTERVAL=2"
    got = series(rule, anchor, BERLIN, 3, anchor=anchor)
    assert got == [utc(2026, 3, 29, 1), utc(2026, 3, 29, 3), utc(2026, 3, 29, 5)]
    # two real hours apart, though the local clock reads 00:00 -> 03:00 -> 05:00
    assert [due.astimezone(BERLIN).hour for due in got] == [3, 5, 7]
    # any `after` lands on the anchor's grid
    assert next_occurrence(rule, after=utc(2026, 3, 29, 2, 59), tz=BERLIN, anchor=anchor) == utc(
        2026, 3, 29, 3
    )
    # before the anchor, the anchor itself is next
    assert next_occurrence(rule, after=utc(2026, 3, 28), tz=BERLIN, anchor=anchor) == anchor


def test_interval_without_anchor_steps_from_after() -> None:
    after = utc(2026, 3, 4, 12, 0, 7)
    assert next_occurrence("FREQ=MINUTELY;INTERVAL=30", after=after, tz=NEW_YORK) == after + timedelta(
        minutes=30
    )


def test_monthly_on_the_first() -> None:
    assert series(FIRST_OF_MONTH, utc(2026, 1, 15), BERLIN, 4) == [
        utc(2026, 2, 1, 8),
        utc(2026, 3, 1, 8),
        utc(2026, 4, 1, 7),
        utc(2026, 5, 1, 7),
    ]


def test_monthly_on_the_31st_skips_short_months() -> None:
    rule = "FREQ=MONTHLY;BYMONTHDAY=31;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
    assert series(rule, utc(2026, 1, 31, 10), ZoneInfo("UTC"), 3) == [
        utc(2026, 3, 31, 9),
        utc(2026, 5, 31, 9),
        utc(2026, 7, 31, 9),
    ]


def test_monthly_on_the_15th_at_18() -> None:
    rule = "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=18;BYMINUTE=0;BYSECOND=0"
    assert next_occurrence(rule, after=utc(2026, 3, 15, 17), tz=BERLIN) == utc(2026, 4, 15, 16)


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (DAILY_9, "every day at 09:00"),
        (WEEKDAYS_930, "every weekday at 09:30"),
        (MONDAY_10, "every Monday at 10:00"),
        ("FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=18;BYMINUTE=0;BYSECOND=0", "every Monday and Wednesday at 18:00"),
        (
            "FREQ=WEEKLY;BYDAY=MO,WE,SU;BYHOUR=18;BYMINUTE=0;BYSECOND=0",
            "every Monday, Wednesday and Sunday at 18:00",
        ),
        ("FREQ=DAILY;BYHOUR=7;BYMINUTE=5;BYSECOND=30", "every day at 07:05:30"),
        ("FREQ=HOURLY;INTERVAL=2", "every 2 hours"),
        ("FREQ=HOURLY;INTERVAL=1", "every hour"),
        ("FREQ=MINUTELY;INTERVAL=30", "every 30 minutes"),
        ("FREQ=MINUTELY;INTERVAL=1", "every minute"),
        (FIRST_OF_MONTH, "every month on the 1st at 09:00"),
        ("FREQ=MONTHLY;BYMONTHDAY=22;BYHOUR=18;BYMINUTE=0;BYSECOND=0", "every month on the 22nd at 18:00"),
        ("FREQ=MONTHLY;BYMONTHDAY=13;BYHOUR=18;BYMINUTE=0;BYSECOND=0", "every month on the 13th at 18:00"),
    ],
)
def test_describe(rule: str, text: str) -> None:
    assert describe(rule) == text
    assert str(parse_rule(rule)) == rule  # canonical strings round-trip


def test_parse_is_lenient_about_order_and_case() -> None:
    assert str(parse_rule("byminute=0;freq=daily;byhour=9")) == DAILY_9
    assert str(parse_rule("FREQ=HOURLY")) == "FREQ=HOURLY;INTERVAL=1"
    assert parse_rule(WEEKDAYS_930) == Rule("WEEKLY", weekdays=(0, 1, 2, 3, 4), hour=9, minute=30)


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "garbage",
        "FREQ=YEARLY;BYHOUR=9;BYMINUTE=0",
        "FREQ=DAILY",
        "FREQ=DAILY;BYHOUR=25;BYMINUTE=0",
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYHOUR=10",
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;COUNT=3",
        "FREQ=DAILY;INTERVAL=2;BYHOUR=9;BYMINUTE=0",
        "FREQ=WEEKLY;BYHOUR=9;BYMINUTE=0",
        "FREQ=WEEKLY;BYDAY=XX;BYHOUR=9;BYMINUTE=0",
        "FREQ=WEEKLY;BYDAY=TU,MO;BYHOUR=9;BYMINUTE=0",
        "FREQ=MONTHLY;BYMONTHDAY=0;BYHOUR=9;BYMINUTE=0",
        "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=9;BYMINUTE=0",
        "FREQ=HOURLY;INTERVAL=0",
        "FREQ=HOURLY;INTERVAL=two",
        "FREQ=HOURLY;INTERVAL=2;BYHOUR=9",
        "FREQ=HOURLY;INTERVAL=" + "9" * 300,
    ],
)
def test_bad_rules(rule: str) -> None:
    with pytest.raises(BadRule):
        parse_rule(rule)
    with pytest.raises(BadRule):
        describe(rule)
    with pytest.raises(BadRule):
        next_occurrence(rule, after=utc(2026, 1, 1), tz=BERLIN)
