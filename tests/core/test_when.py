"""Tests for core.when: every accepted form, in three zones, with exact UTC results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.recurrence import describe, parse_rule
from core.when import WHEN_EXAMPLES, When, WhenError, is_clear_word, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = (ZoneInfo("UTC"), BERLIN, NEW_YORK)
# Wednesday 4 March 2026, 12:00 local in each zone (New York switches to EDT on Sunday 8 March).
NOWS = (
    datetime(2026, 3, 4, 12, tzinfo=UTC),
    datetime(2026, 3, 4, 11, tzinfo=UTC),
    datetime(2026, 3, 4, 17, tzinfo=UTC),
)

Six = tuple[int, int, int, int, int, int]

# (text, expected UTC when tz is UTC, ... Europe/Berlin, ... America/New_York)
ONE_OFF: list[tuple[str, Six, Six, Six]] = [
    ("in 30 seconds", (2026, 3, 4, 12, 0, 30), (2026, 3, 4, 11, 0, 30), (2026, 3, 4, 17, 0, 30)),
    ("in 30s", (2026, 3, 4, 12, 0, 30), (2026, 3, 4, 11, 0, 30), (2026, 3, 4, 17, 0, 30)),
    ("in 30 sec", (2026, 3, 4, 12, 0, 30), (2026, 3, 4, 11, 0, 30), (2026, 3, 4, 17, 0, 30)),
    ("in 5 min", (2026, 3, 4, 12, 5, 0), (2026, 3, 4, 11, 5, 0), (2026, 3, 4, 17, 5, 0)),
    ("in 5 minutes", (2026, 3, 4, 12, 5, 0), (2026, 3, 4, 11, 5, 0), (2026, 3, 4, 17, 5, 0)),
    ("in 5m", (2026, 3, 4, 12, 5, 0), (2026, 3, 4, 11, 5, 0), (2026, 3, 4, 17, 5, 0)),
    ("in 2 hours", (2026, 3, 4, 14, 0, 0), (2026, 3, 4, 13, 0, 0), (2026, 3, 4, 19, 0, 0)),
    ("in 2h", (2026, 3, 4, 14, 0, 0), (2026, 3, 4, 13, 0, 0), (2026, 3, 4, 19, 0, 0)),
    ("in 1 hour", (2026, 3, 4, 13, 0, 0), (2026, 3, 4, 12, 0, 0), (2026, 3, 4, 18, 0, 0)),
    ("in 3 days", (2026, 3, 7, 12, 0, 0), (2026, 3, 7, 11, 0, 0), (2026, 3, 7, 17, 0, 0)),
    ("in 3d", (2026, 3, 7, 12, 0, 0), (2026, 3, 7, 11, 0, 0), (2026, 3, 7, 17, 0, 0)),
    # Elapsed time: in New York this lands at 13:00 local, after the switch to EDT.
    ("in 1 week", (2026, 3, 11, 12, 0, 0), (2026, 3, 11, 11, 0, 0), (2026, 3, 11, 17, 0, 0)),
    ("in 2 weeks", (2026, 3, 18, 12, 0, 0), (2026, 3, 18, 11, 0, 0), (2026, 3, 18, 17, 0, 0)),
    ("in 1h 30m", (2026, 3, 4, 13, 30, 0), (2026, 3, 4, 12, 30, 0), (2026, 3, 4, 18, 30, 0)),
    ("in 1h30m", (2026, 3, 4, 13, 30, 0), (2026, 3, 4, 12, 30, 0), (2026, 3, 4, 18, 30, 0)),
    ("in 1 hour 30 minutes", (2026, 3, 4, 13, 30, 0), (2026, 3, 4, 12, 30, 0), (2026, 3, 4, 18, 30, 0)),
    ("today 18:00", (2026, 3, 4, 18, 0, 0), (2026, 3, 4, 17, 0, 0), (2026, 3, 4, 23, 0, 0)),
    ("tonight", (2026, 3, 4, 20, 0, 0), (2026, 3, 4, 19, 0, 0), (2026, 3, 5, 1, 0, 0)),
    ("tomorrow 9:00", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0)),
    ("tomorrow 9am", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0)),
    ("tomorrow 9:30pm", (2026, 3, 5, 21, 30, 0), (2026, 3, 5, 20, 30, 0), (2026, 3, 6, 2, 30, 0)),
    ("tomorrow at 9", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0)),
    ("tomorrow", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0)),
    ("18:00", (2026, 3, 4, 18, 0, 0), (2026, 3, 4, 17, 0, 0), (2026, 3, 4, 23, 0, 0)),
    ("9am", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0)),
    ("at 9", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0)),
    ("friday 17:30", (2026, 3, 6, 17, 30, 0), (2026, 3, 6, 16, 30, 0), (2026, 3, 6, 22, 30, 0)),
    ("fri 17:30", (2026, 3, 6, 17, 30, 0), (2026, 3, 6, 16, 30, 0), (2026, 3, 6, 22, 30, 0)),
    ("friday", (2026, 3, 6, 9, 0, 0), (2026, 3, 6, 8, 0, 0), (2026, 3, 6, 14, 0, 0)),
    ("next monday", (2026, 3, 9, 9, 0, 0), (2026, 3, 9, 8, 0, 0), (2026, 3, 9, 13, 0, 0)),
    ("next friday 18:00", (2026, 3, 6, 18, 0, 0), (2026, 3, 6, 17, 0, 0), (2026, 3, 6, 23, 0, 0)),
    ("on monday at 10", (2026, 3, 9, 10, 0, 0), (2026, 3, 9, 9, 0, 0), (2026, 3, 9, 14, 0, 0)),
    ("2026-12-24 18:00", (2026, 12, 24, 18, 0, 0), (2026, 12, 24, 17, 0, 0), (2026, 12, 24, 23, 0, 0)),
    ("2026-12-24", (2026, 12, 24, 9, 0, 0), (2026, 12, 24, 8, 0, 0), (2026, 12, 24, 14, 0, 0)),
    ("24.12.2026 18:00", (2026, 12, 24, 18, 0, 0), (2026, 12, 24, 17, 0, 0), (2026, 12, 24, 23, 0, 0)),
    ("24 dec 18:00", (2026, 12, 24, 18, 0, 0), (2026, 12, 24, 17, 0, 0), (2026, 12, 24, 23, 0, 0)),
    ("dec 24", (2026, 12, 24, 9, 0, 0), (2026, 12, 24, 8, 0, 0), (2026, 12, 24, 14, 0, 0)),
    ("24 december 2026 9am", (2026, 12, 24, 9, 0, 0), (2026, 12, 24, 8, 0, 0), (2026, 12, 24, 14, 0, 0)),
]

DAILY_9 = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
RECURRING: list[tuple[str, Six, Six, Six, str]] = [
    ("every day 9:00", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0), DAILY_9),
    ("every day at 9am", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0), DAILY_9),
    ("daily 9:00", (2026, 3, 5, 9, 0, 0), (2026, 3, 5, 8, 0, 0), (2026, 3, 5, 14, 0, 0), DAILY_9),
    (
        "every weekday 9:30",
        (2026, 3, 5, 9, 30, 0),
        (2026, 3, 5, 8, 30, 0),
        (2026, 3, 5, 14, 30, 0),
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30;BYSECOND=0",
    ),
    (
        "every monday 10:00",
        (2026, 3, 9, 10, 0, 0),
        (2026, 3, 9, 9, 0, 0),
        (2026, 3, 9, 14, 0, 0),
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0",
    ),
    (
        "every mon,wed 18:00",
        (2026, 3, 4, 18, 0, 0),
        (2026, 3, 4, 17, 0, 0),
        (2026, 3, 4, 23, 0, 0),
        "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=18;BYMINUTE=0;BYSECOND=0",
    ),
    (
        "every 2 hours",
        (2026, 3, 4, 14, 0, 0),
        (2026, 3, 4, 13, 0, 0),
        (2026, 3, 4, 19, 0, 0),
        "FREQ=HOURLY;INTERVAL=2",
    ),
    (
        "every hour",
        (2026, 3, 4, 13, 0, 0),
        (2026, 3, 4, 12, 0, 0),
        (2026, 3, 4, 18, 0, 0),
        "FREQ=HOURLY;INTERVAL=1",
    ),
    (
        "every 30 minutes",
        (2026, 3, 4, 12, 30, 0),
        (2026, 3, 4, 11, 30, 0),
        (2026, 3, 4, 17, 30, 0),
        "FREQ=MINUTELY;INTERVAL=30",
    ),
    (
        "every month on the 1st",
        (2026, 4, 1, 9, 0, 0),
        (2026, 4, 1, 7, 0, 0),
        (2026, 4, 1, 13, 0, 0),
        "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
    ),
    (
        "every month on the 15th at 18:00",
        (2026, 3, 15, 18, 0, 0),
        (2026, 3, 15, 17, 0, 0),
        (2026, 3, 15, 22, 0, 0),
        "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=18;BYMINUTE=0;BYSECOND=0",
    ),
    # "every week" repeats on today's weekday (Wednesday) at 09:00, which has passed today.
    (
        "every week",
        (2026, 3, 11, 9, 0, 0),
        (2026, 3, 11, 8, 0, 0),
        (2026, 3, 11, 13, 0, 0),
        "FREQ=WEEKLY;BYDAY=WE;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
    ),
]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def in_zones(rows: list[tuple[str, Six, Six, Six]]) -> list[tuple[str, int, Six]]:
    return [(text, i, expected) for text, *per_zone in rows for i, expected in enumerate(per_zone)]


@pytest.mark.parametrize(("text", "zone", "expected"), in_zones(ONE_OFF))
def test_one_off_forms(text: str, zone: int, expected: Six) -> None:
    assert parse_when(text, now=NOWS[zone], tz=ZONES[zone]) == When(utc(*expected))


@pytest.mark.parametrize(
    ("text", "zone", "expected", "rule"),
    [(text, i, expected, rule) for text, *per_zone, rule in RECURRING for i, expected in enumerate(per_zone)],
)
def test_recurring_forms(text: str, zone: int, expected: Six, rule: str) -> None:
    assert parse_when(text, now=NOWS[zone], tz=ZONES[zone]) == When(utc(*expected), rule)


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("  Tomorrow   9AM ", "tomorrow 9am"),
        ("TOMORROW 9 am", "tomorrow 9am"),
        ("at 9am", "9am"),
        ("on friday", "friday"),
        ("18:00 tomorrow", "tomorrow 18:00"),
        ("tomorrow, 18:00", "tomorrow 18:00"),
        ("every mon and wed 18:00", "every mon,wed 18:00"),
        ("every mondays at 10", "every monday 10:00"),
        ("weekdays 9:30", "every weekday 9:30"),
        ("monthly on the 1st", "every month on the 1st"),
        ("hourly", "every hour"),
        ("in an hour", "in 1 hour"),
        ("2026-12-24T18:00", "2026-12-24 18:00"),
        ("24th of december", "dec 24"),
        ("24.12.", "dec 24"),
        ("this friday", "friday"),
        ("every 120 minutes", "every 2 hours"),
    ],
)
def test_variants(text: str, same_as: str) -> None:
    assert parse_when(text, now=NOWS[1], tz=BERLIN) == parse_when(same_as, now=NOWS[1], tz=BERLIN)


def test_relative_keeps_seconds_and_microseconds() -> None:
    now = utc(2026, 3, 4, 12, 0, 7).replace(microsecond=123)
    assert parse_when("in 5 min", now=now, tz=BERLIN).due_at == now + timedelta(minutes=5)


def test_at_9_is_nine_oclock_not_september() -> None:
    due = parse_when("tomorrow at 9", now=NOWS[1], tz=BERLIN).due_at.astimezone(BERLIN)
    assert (due.month, due.day, due.hour, due.minute) == (3, 5, 9, 0)


def test_time_alone_rolls_to_tomorrow_once_passed() -> None:
    late = utc(2026, 3, 4, 18, 30)  # 19:30 in Berlin
    assert parse_when("18:00", now=late, tz=BERLIN).due_at == utc(2026, 3, 5, 17)


def test_year_less_date_rolls_to_next_year_once_passed() -> None:
    assert parse_when("3 mar 10:00", now=NOWS[0], tz=ZONES[0]).due_at == utc(2027, 3, 3, 10)
    assert parse_when("29.02.", now=NOWS[0], tz=ZONES[0]).due_at == utc(2028, 2, 29, 9)


# --- weekday meaning -------------------------------------------------------------------------

FRIDAY_8AM = utc(2026, 3, 6, 7)  # Friday 6 March, 08:00 in Berlin
WEDNESDAY_NOON = NOWS[1]


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("friday", FRIDAY_8AM, utc(2026, 3, 6, 8)),  # today: 09:00 is still ahead
        ("friday 07:00", FRIDAY_8AM, utc(2026, 3, 13, 6)),  # today's 07:00 has passed
        ("next friday", FRIDAY_8AM, utc(2026, 3, 13, 8)),  # never today
        ("next friday 18:00", FRIDAY_8AM, utc(2026, 3, 13, 17)),
        ("friday", WEDNESDAY_NOON, utc(2026, 3, 6, 8)),
        ("next friday", WEDNESDAY_NOON, utc(2026, 3, 6, 8)),  # same as the bare form
        ("wednesday 13:00", WEDNESDAY_NOON, utc(2026, 3, 4, 12)),
        ("next wednesday 13:00", WEDNESDAY_NOON, utc(2026, 3, 11, 12)),
    ],
)
def test_weekday_vs_next_weekday(text: str, now: datetime, expected: datetime) -> None:
    assert parse_when(text, now=now, tz=BERLIN).due_at == expected


# --- DST ----------------------------------------------------------------------------------------


def test_tomorrow_in_spring_forward_gap_moves_forward() -> None:
    eve = utc(2026, 3, 28, 11)  # Saturday before 29 March; 02:00-03:00 doesn't exist
    due = parse_when("tomorrow 2:30", now=eve, tz=BERLIN).due_at
    assert due == utc(2026, 3, 29, 1, 30)
    assert due.astimezone(BERLIN).strftime("%H:%M %z") == "03:30 +0200"


def test_tomorrow_in_fall_back_overlap_takes_first() -> None:
    eve = utc(2026, 10, 24, 10)  # Saturday before 25 October; 02:00-03:00 happens twice
    due = parse_when("tomorrow 2:30", now=eve, tz=BERLIN).due_at
    assert due == utc(2026, 10, 25, 0, 30)
    assert due.astimezone(BERLIN).strftime("%H:%M %z") == "02:30 +0200"


def test_new_york_dst_gap() -> None:
    eve = utc(2026, 3, 7, 17)  # Saturday before 8 March; 02:00-03:00 doesn't exist
    assert parse_when("tomorrow 2:30", now=eve, tz=NEW_YORK).due_at == utc(2026, 3, 8, 7, 30)


def test_recurring_rule_round_trips() -> None:
    when = parse_when("every month on the 15th at 18:00", now=NOWS[1], tz=BERLIN)
    assert when.rule is not None
    assert describe(when.rule) == "every month on the 15th at 18:00"


# --- errors -------------------------------------------------------------------------------------


def test_past_times_are_rejected_with_the_time_read() -> None:
    with pytest.raises(WhenError, match="past") as info:
        parse_when("today 08:00", now=NOWS[1], tz=BERLIN)
    assert "Wed 4 Mar 08:00, Europe/Berlin" in str(info.value)
    with pytest.raises(WhenError, match="past") as info:
        parse_when("2020-01-01", now=NOWS[2], tz=NEW_YORK)
    assert "Wed 1 Jan 2020 09:00, America/New_York" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "blah",
        "123",
        "9",
        "in x min",
        "in min",
        "25:00",
        "tomorrow 24:00",
        "tomorrow 9:60",
        "2026-02-30",
        "feb 30",
        "31.04.2026",
        "24/12/2026",
        "every blursday",
        "next blursday",
        "every",
        "in",
        "at",
        "on",
    ],
)
def test_bad_strings_name_forms_that_work(text: str) -> None:
    with pytest.raises(WhenError) as info:
        parse_when(text, now=NOWS[1], tz=BERLIN)
    assert "tomorrow 9am" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2101-01-01",
        "in 99999 weeks",
        "0am",
        "13pm",
        "every 30 seconds",
        "every 2 days",
        "every month on the 32nd",
    ],
)
def test_other_rejections(text: str) -> None:
    with pytest.raises(WhenError):
        parse_when(text, now=NOWS[1], tz=BERLIN)


def test_unrecognised_text_is_echoed() -> None:
    with pytest.raises(WhenError, match="“blah”") as info:
        parse_when("blah", now=NOWS[1], tz=BERLIN)
    assert all(example in str(info.value) for example in WHEN_EXAMPLES)


@pytest.mark.parametrize(
    ("text", "expected"), [("none", True), (" No  Date ", True), ("clear", True), ("-", True)]
)
def test_clear_words(text: str, expected: bool) -> None:
    assert is_clear_word(text) is expected


@pytest.mark.parametrize("text", ["tomorrow", "nothing", "", "--"])
def test_not_clear_words(text: str) -> None:
    assert not is_clear_word(text)


# --- property tests -------------------------------------------------------------------------------

TOKENS = [
    *("in", "every", "each", "at", "on", "next", "this", "the", "of", "and", "a", "an"),
    *(
        "today",
        "tonight",
        "tomorrow",
        "day",
        "daily",
        "weekday",
        "weekdays",
        "week",
        "month",
        "monthly",
        "hourly",
    ),
    *("monday", "fri", "sun", "wednesdays", "dec", "february", "may", "blursday"),
    *("0", "1", "9", "12", "24", "29", "30", "31", "60", "99", "999999", "2026", "2100", "2101", "1969"),
    *("1st", "15th", "32nd", "9am", "12pm", "0am", "13pm", "9:30pm", "18:00", "24:00", "9:60", "23:59:59"),
    *(
        "30s",
        "5m",
        "2h",
        "3d",
        "1w",
        "1h30m",
        "90x",
        "min",
        "minutes",
        "hour",
        "hours",
        "sec",
        "weeks",
        "days",
    ),
    *("2026-12-24", "2026-02-30", "2026-12-24t18:00", "24.12.", "29.02.", "31.04.2026", "24/12/2026", "noon"),
    *("midnight", "-", ",", "  ", "٣", "１２:００", "\x00"),
]
PROPERTY_NOWS = st.datetimes(
    min_value=datetime(1999, 1, 1), max_value=datetime(2101, 1, 1), timezones=st.just(UTC)
)
PROPERTY_ZONES = st.sampled_from([*ZONES, ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Chatham")])


def assert_valid_or_when_error(text: str, now: datetime, tz: ZoneInfo) -> None:
    try:
        when = parse_when(text, now=now, tz=tz)
    except WhenError as error:
        assert str(error)
        return
    assert when.due_at.utcoffset() == timedelta(0)
    assert when.due_at > now
    assert when.due_at.year <= 2100
    if when.rule is not None:
        assert len(when.rule) <= 200
        assert describe(parse_rule(when.rule))


@settings(deadline=timedelta(milliseconds=100), max_examples=300)
@given(st.text(max_size=200), PROPERTY_NOWS, PROPERTY_ZONES)
def test_any_text_parses_or_raises_when_error(text: str, now: datetime, tz: ZoneInfo) -> None:
    assert_valid_or_when_error(text, now, tz)


@settings(deadline=timedelta(milliseconds=100), max_examples=1000)
@given(st.lists(st.sampled_from(TOKENS), max_size=7).map(" ".join), PROPERTY_NOWS, PROPERTY_ZONES)
def test_token_soup_parses_or_raises_when_error(text: str, now: datetime, tz: ZoneInfo) -> None:
    assert_valid_or_when_error(text, now, tz)
