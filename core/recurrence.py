"""Recurring rules: stored as short RFC 5545 RRULE bodies, expanded in the chat's zone.

Canonical stored forms (keys always in this order, at most 200 characters):

- fixed-time rules, in LOCAL wall-clock terms:
  ``FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0``,
  ``FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30;BYSECOND=0``,
  ``FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0;BYSECOND=0``;
- interval rules, in real elapsed time: ``FREQ=HOURLY;INTERVAL=2``, ``FREQ=MINUTELY;INTERVAL=30``.

Fixed-time rules keep their local time across DST changes: they are expanded with
`dateutil.rrule` on naive wall-clock datetimes and each occurrence is read with `times.localize`
(a time in a DST gap moves forward by the gap, an overlapped time fires once, at its first
occurrence). Interval rules step from the series' anchor (its first due time) in elapsed time, so
"every 2 hours" stays 2 real hours apart even across a DST change. A monthly rule on the 29th-31st
skips months that lack that day, as RRULE does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule

from core.times import as_utc, localize

__all__ = ["MAX_RULE_LENGTH", "BadRule", "Rule", "describe", "next_occurrence", "parse_rule"]

MAX_RULE_LENGTH = 200
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FIXED = ("DAILY", "WEEKLY", "MONTHLY")
_STEP = {"HOURLY": timedelta(hours=1), "MINUTELY": timedelta(minutes=1)}
_MAX_INTERVAL = 10_000
_RRULE_FREQ: Final[dict[str, Literal[1, 2, 3]]] = {"MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}


class BadRule(ValueError):
    """A stored rule string this module cannot read."""


@dataclass(frozen=True)
class Rule:
    """A parsed rule; `str()` gives the canonical stored form.

    For fixed-time rules `hour`/`minute`/`second` are local wall-clock values, `weekdays` are
    0=Monday..6=Sunday (WEEKLY only) and `monthday` is 1..31 (MONTHLY only). Interval rules use
    only `interval`.
    """

    freq: str
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    monthday: int | None = None
    hour: int = 0
    minute: int = 0
    second: int = 0

    def __post_init__(self) -> None:
        fixed = self.freq in _FIXED
        if not fixed and self.freq not in _STEP:
            raise BadRule(f"unknown FREQ {self.freq!r}")
        if not 1 <= self.interval <= _MAX_INTERVAL or (fixed and self.interval != 1):
            raise BadRule(f"INTERVAL {self.interval} is not allowed for {self.freq}")
        if (self.freq == "WEEKLY") != bool(self.weekdays):
            raise BadRule("BYDAY is required for WEEKLY rules and only for them")
        if list(self.weekdays) != sorted(set(self.weekdays)) or not set(self.weekdays) <= set(range(7)):
            raise BadRule("BYDAY must list distinct weekdays in order")
        if (self.freq == "MONTHLY") != (self.monthday is not None):
            raise BadRule("BYMONTHDAY is required for MONTHLY rules and only for them")
        if self.monthday is not None and not 1 <= self.monthday <= 31:
            raise BadRule(f"BYMONTHDAY {self.monthday} is out of range")
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59 and 0 <= self.second <= 59):
            raise BadRule("time of day out of range")
        if not fixed and (self.hour or self.minute or self.second):
            raise BadRule("interval rules take no time of day")

    @property
    def is_interval(self) -> bool:
        """Whether the rule steps in elapsed time from an anchor rather than at a fixed local time."""
        return self.freq in _STEP

    @property
    def step(self) -> timedelta:
        """The elapsed time between occurrences of an interval rule."""
        return _STEP[self.freq] * self.interval

    def __str__(self) -> str:
        if self.is_interval:
            return f"FREQ={self.freq};INTERVAL={self.interval}"
        parts = [f"FREQ={self.freq}"]
        if self.weekdays:
            parts.append("BYDAY=" + ",".join(WEEKDAY_CODES[d] for d in self.weekdays))
        if self.monthday is not None:
            parts.append(f"BYMONTHDAY={self.monthday}")
        parts.append(f"BYHOUR={self.hour};BYMINUTE={self.minute};BYSECOND={self.second}")
        return ";".join(parts)


def _int(key: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise BadRule(f"{key}={value!r} is not a number")
    return int(value)


def parse_rule(rule: str) -> Rule:
    """Parse a stored rule (canonical or with keys in any order); raise BadRule."""
    if not rule or len(rule) > MAX_RULE_LENGTH:
        raise BadRule("empty or over-long rule")
    fields: dict[str, str] = {}
    for part in rule.strip().upper().split(";"):
        key, sep, value = part.partition("=")
        if not sep or key in fields:
            raise BadRule(f"malformed or repeated part {part!r} in {rule!r}")
        fields[key] = value
    unknown = set(fields) - {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYHOUR", "BYMINUTE", "BYSECOND"}
    if unknown:
        raise BadRule(f"unsupported parts {sorted(unknown)} in {rule!r}")
    freq = fields.get("FREQ", "")
    weekdays: tuple[int, ...] = ()
    if "BYDAY" in fields:
        try:
            weekdays = tuple(WEEKDAY_CODES.index(code) for code in fields["BYDAY"].split(","))
        except ValueError:
            raise BadRule(f"bad BYDAY in {rule!r}") from None
    if freq in _FIXED and not {"BYHOUR", "BYMINUTE"} <= set(fields):
        raise BadRule(f"fixed-time rule without BYHOUR/BYMINUTE: {rule!r}")
    return Rule(
        freq=freq,
        interval=_int("INTERVAL", fields.get("INTERVAL", "1")),
        weekdays=weekdays,
        monthday=_int("BYMONTHDAY", fields["BYMONTHDAY"]) if "BYMONTHDAY" in fields else None,
        hour=_int("BYHOUR", fields.get("BYHOUR", "0")),
        minute=_int("BYMINUTE", fields.get("BYMINUTE", "0")),
        second=_int("BYSECOND", fields.get("BYSECOND", "0")),
    )


def next_occurrence(
    rule: str | Rule, *, after: datetime, tz: ZoneInfo, anchor: datetime | None = None
) -> datetime:
    """The first occurrence strictly after the aware `after`, as aware UTC.

    Interval rules count whole steps from `anchor` (the series' first due time) in elapsed time;
    without an anchor they step from `after`. Fixed-time rules ignore `anchor`.
    """
    parsed = rule if isinstance(rule, Rule) else parse_rule(rule)
    after = as_utc(after)
    if parsed.is_interval:
        start = as_utc(anchor) if anchor is not None else after
        if start > after:
            return start
        return start + parsed.step * ((after - start) // parsed.step + 1)
    # Start a day early in local wall-clock terms so an occurrence shifted by DST is not missed.
    local_after = after.astimezone(tz).replace(tzinfo=None)
    dtstart = datetime.combine(local_after.date() - timedelta(days=1), datetime.min.time())
    occurrences = rrule(
        _RRULE_FREQ[parsed.freq],
        dtstart=dtstart,
        byweekday=parsed.weekdays or None,
        bymonthday=parsed.monthday,
        byhour=parsed.hour,
        byminute=parsed.minute,
        bysecond=parsed.second,
        cache=False,
    )
    for wall in occurrences:
        instant = localize(wall, tz)
        if instant > after:
            return instant
    raise BadRule(f"{parsed} has no occurrence after {after.isoformat()}")  # pragma: no cover


def _clock(rule: Rule) -> str:
    text = f"{rule.hour:02d}:{rule.minute:02d}"
    return f"{text}:{rule.second:02d}" if rule.second else text


def ordinal(n: int) -> str:
    """English ordinal: 1st, 2nd, 3rd, 4th, 11th, 22nd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _plural(n: int, unit: str) -> str:
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


def describe(rule: str | Rule) -> str:
    """Human text for a rule: "every weekday at 09:30", "every 2 hours", "every month on the 1st at 09:00"."""
    parsed = rule if isinstance(rule, Rule) else parse_rule(rule)
    if parsed.freq == "HOURLY":
        return _plural(parsed.interval, "hour")
    if parsed.freq == "MINUTELY":
        if parsed.interval % 60 == 0:
            return _plural(parsed.interval // 60, "hour")
        return _plural(parsed.interval, "minute")
    at = f"at {_clock(parsed)}"
    if parsed.freq == "DAILY" or len(parsed.weekdays) == 7:
        return f"every day {at}"
    if parsed.freq == "MONTHLY":
        return f"every month on the {ordinal(parsed.monthday or 0)} {at}"
    if parsed.weekdays == (0, 1, 2, 3, 4):
        return f"every weekday {at}"
    names = [_WEEKDAY_NAMES[d] for d in parsed.weekdays]
    days = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"every {days} {at}"
