"""Parse the "when" part of a task ("tomorrow 9am", "in 30 min", "every weekday 9:30").

All wall-clock times are read in the chat's zone and returned as aware UTC (`times.localize`
resolves DST gaps and overlaps). Input is case-insensitive, extra spaces and commas are ignored,
and a leading "at"/"on" is optional.

Meanings:
- relative ("in 1h 30m", "in 3 days") is `now` plus that much elapsed time, to the second;
- a time alone ("18:00", "9am", "at 9") is today if still ahead, else tomorrow; "at 9" is 09:00;
- a bare weekday ("friday 17:30") is the next such day whose time is still ahead, so today when
  today is that weekday and the time has not passed; "next friday" is the first Friday strictly
  after today (never today), which differs from the bare form only when today is Friday;
- dates: "2026-12-24", "24.12.2026", "24 dec 2026", "dec 24"; without a year, the first such
  date still ahead; "24/12/2026" is refused as ambiguous;
- a missing time means 09:00 ("tonight" means 20:00);
- recurring: "every day 9:00", "daily", "every weekday 9:30", "every mon,wed 18:00",
  "every month on the 15th at 18:00", "every 2 hours", "every 30 minutes"; "every week" and
  "every month" repeat on today's weekday / day of the month (at 09:00 unless a time is given).
  `due_at` is the first occurrence after `now`; interval rules start `now` + one interval.
A result in the past, after 2100, or an impossible date/time raises WhenError, and so does
anything else that isn't understood: `parse_when` raises nothing but WhenError for any string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.recurrence import Rule, next_occurrence
from core.times import as_utc, format_when, localize

__all__ = ["WHEN_EXAMPLES", "When", "WhenError", "is_clear_word", "parse_when"]

WHEN_EXAMPLES: tuple[str, ...] = (
    "in 30 min",
    "today 18:00",
    "tomorrow 9am",
    "friday 17:30",
    "2026-12-24 18:00",
    "every day 9:00",
)
_MAX_INPUT = 120
_LIMIT = datetime(2101, 1, 1, tzinfo=UTC)
_DEFAULT_TIME = time(9, 0)
_TONIGHT = time(20, 0)
_TRY = "Try: " + ", ".join(WHEN_EXAMPLES)
_CLEAR_WORDS = frozenset({"none", "no date", "no due date", "clear", "-"})

_WEEKDAYS = {
    **dict.fromkeys(("monday", "mon"), 0),
    **dict.fromkeys(("tuesday", "tue", "tues"), 1),
    **dict.fromkeys(("wednesday", "wed"), 2),
    **dict.fromkeys(("thursday", "thu", "thur", "thurs"), 3),
    **dict.fromkeys(("friday", "fri"), 4),
    **dict.fromkeys(("saturday", "sat"), 5),
    **dict.fromkeys(("sunday", "sun"), 6),
}
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), timedelta(weeks=1)),
}
_TOMORROW = frozenset({"tomorrow", "tmrw", "tmr", "tomorow"})

# re.ASCII everywhere: \d must not match other scripts' digits, which int() would accept.
_A = re.ASCII
_CLOCK_RE = re.compile(r"(\d{1,2})(?::(\d{2})(?::(\d{2}))?)?(am|pm)?", _A)
_AMOUNT_RE = re.compile(r"(\d{1,6})([a-z]+)", _A)
_COMPACT_RE = re.compile(r"(?:\d{1,6}[a-z]+){1,4}", _A)
_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", _A)
_DOTTED_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})?", _A)
_DAY_RE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?", _A)
_YEAR_RE = re.compile(r"\d{4}", _A)


class WhenError(ValueError):
    """A when-expression that can't be used; str() is a short message for the user."""


@dataclass(frozen=True)
class When:
    """A parsed when-expression."""

    due_at: datetime  # aware UTC: the (first) due time
    rule: str | None = None  # a core.recurrence rule for recurring expressions, else None


class _NoMatch(Exception):
    """Internal: this reading of the input doesn't apply; try another or give the generic error."""


def is_clear_word(text: str) -> bool:
    """Whether `text` asks to clear a due date ("none", "no date", "clear", "-")."""
    return " ".join(text.casefold().split()) in _CLEAR_WORDS


def _normalise(text: str) -> list[str]:
    text = text.casefold().replace(",", " ").replace("a.m.", "am").replace("p.m.", "pm")
    text = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", r"\1 ", text, flags=_A)  # ISO "T" separator
    text = re.sub(r"(\d)\s+(am|pm)\b", r"\1\2", text, flags=_A)  # "9 am" -> "9am"
    return text.split()


# --- pieces -----------------------------------------------------------------------------------


def _clock(token: str, *, bare_ok: bool) -> time:
    """A time of day: "18:00", "9:30:15", "9am", "9:30pm", "noon", "midnight"; a bare "9" if allowed."""
    if token == "noon":
        return time(12, 0)
    if token == "midnight":
        return time(0, 0)
    match = _CLOCK_RE.fullmatch(token)
    if match is None:
        raise _NoMatch
    hour_text, minute_text, second_text, half = match.groups()
    if minute_text is None and half is None and not bare_ok:
        raise _NoMatch
    hour, minute, second = int(hour_text), int(minute_text or 0), int(second_text or 0)
    if half is not None:
        if not 1 <= hour <= 12:
            raise WhenError(f"“{token}” isn't a time: with am/pm the hour goes from 1 to 12.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23:
        raise WhenError(f"“{token}” isn't a time: hours go from 00 to 23. {_TRY}")
    if minute > 59 or second > 59:
        raise WhenError(f"“{token}” isn't a time: minutes go from 00 to 59. {_TRY}")
    return time(hour, minute, second)


def _split_time(tokens: list[str]) -> tuple[list[str], time]:
    """Split a trailing "[at] <time>" or a leading "[at] <time> [on]" off the tokens."""
    lead_at = tokens[:1] == ["at"]
    if lead_at:
        tokens = tokens[1:]
    if not tokens:
        raise _NoMatch
    if len(tokens) >= 2 and tokens[-2] == "at":
        return tokens[:-2], _clock(tokens[-1], bare_ok=True)
    try:
        # A bare hour needs "at" or a day before it ("tomorrow 9"): "9" alone is too vague.
        return tokens[:-1], _clock(tokens[-1], bare_ok=lead_at or len(tokens) > 1)
    except _NoMatch:
        pass
    clock = _clock(tokens[0], bare_ok=lead_at)
    rest = tokens[1:]
    return rest[1:] if rest[:1] == ["on"] else rest, clock


def _duration(tokens: list[str]) -> timedelta:
    """ "1h 30m", "1h30m", "1 hour 30 minutes", "2 weeks", "an hour" -> timedelta."""
    total = timedelta()
    pending: int | None = None
    for token in tokens:
        if token in ("and", "&") and pending is None:
            continue
        if token in ("a", "an") and pending is None:
            pending = 1
        elif token.isascii() and token.isdigit() and len(token) <= 6 and pending is None:
            pending = int(token)
        elif token in _UNITS and pending is not None:
            total += _UNITS[token] * pending
            pending = None
        elif _COMPACT_RE.fullmatch(token) and pending is None:
            for amount, unit in _AMOUNT_RE.findall(token):
                if unit not in _UNITS:
                    raise _NoMatch
                total += _UNITS[unit] * int(amount)
        else:
            raise _NoMatch
    if pending is not None or not tokens:
        raise _NoMatch
    return total


def _weekday(token: str, *, plural_ok: bool = False) -> int:
    if plural_ok and token.endswith("days") and token[:-1] in _WEEKDAYS:
        token = token[:-1]
    if token not in _WEEKDAYS:
        raise _NoMatch
    return _WEEKDAYS[token]


def _calendar_date(year: int, month: int, day: int, shown: str) -> date:
    if year > 2100:
        raise WhenError(f"{shown} is too far ahead: I only go up to the year 2100.")
    if year < 1970:
        raise WhenError(f"{shown} is in the past.")
    try:
        return date(year, month, day)
    except ValueError:
        raise WhenError(f"There is no date “{shown}”. {_TRY}") from None


# --- the parser ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, now: datetime, tz: ZoneInfo) -> None:
        self.now = now
        self.tz = tz
        self.today = now.astimezone(tz).date()

    def at(self, day: date, clock: time) -> datetime:
        return localize(datetime.combine(day, clock), self.tz)

    def next_at(self, first_day: date, clock: time, step_days: int) -> datetime:
        """The first of `first_day`, `first_day + step`, ... at `clock` that is still ahead."""
        due = self.at(first_day, clock)
        return due if due > self.now else self.at(first_day + timedelta(days=step_days), clock)

    def relative(self, tokens: list[str]) -> When:
        delta = _duration(tokens)
        if delta > _LIMIT - self.now:
            raise WhenError("That is too far ahead: I only go up to the year 2100.")
        return When(self.now + delta)

    def absolute(self, tokens: list[str]) -> When:
        day_tokens, clock = ([*tokens], None) if self._is_day(tokens) else _split_time(tokens)
        default = _TONIGHT if day_tokens == ["tonight"] else _DEFAULT_TIME
        return When(self._on_day(day_tokens, clock or default))

    def _is_day(self, tokens: list[str]) -> bool:
        if not tokens:
            raise _NoMatch
        try:
            self._on_day(tokens, _DEFAULT_TIME)
        except _NoMatch:
            return False
        except WhenError:
            return True
        return True

    def _on_day(self, tokens: list[str], clock: time) -> datetime:
        """The instant for a day expression at `clock`; `tokens` may be empty (today or tomorrow)."""
        if tokens[:1] == ["on"] and len(tokens) > 1:
            tokens = tokens[1:]
        shown = " ".join(tokens)
        match tokens:
            case []:
                return self.next_at(self.today, clock, 1)
            case ["today" | "tonight"]:
                return self.at(self.today, clock)
            case [word] if word in _TOMORROW:
                return self.at(self.today + timedelta(days=1), clock)
            case ["next", word]:
                ahead = (_weekday(word) - self.today.weekday()) % 7 or 7
                return self.at(self.today + timedelta(days=ahead), clock)
            case [word] | ["this", word] if word in _WEEKDAYS:
                ahead = (_weekday(word) - self.today.weekday()) % 7
                return self.next_at(self.today + timedelta(days=ahead), clock, 7)
            case [word] if (iso := _ISO_RE.fullmatch(word)) is not None:
                year, month, day = map(int, iso.groups())
                return self.at(_calendar_date(year, month, day, shown), clock)
            case [word] if (dotted := _DOTTED_RE.fullmatch(word)) is not None:
                day, month = int(dotted[1]), int(dotted[2])
                return self._dated(day, month, int(dotted[3]) if dotted[3] else None, clock, shown)
        return self._named_month(tokens, clock, shown)

    def _named_month(self, tokens: list[str], clock: time, shown: str) -> datetime:
        """ "24 dec", "24th of december 2026", "dec 24", "december 24th 2026"."""
        year: int | None = None
        if len(tokens) in (3, 4) and _YEAR_RE.fullmatch(tokens[-1]):
            year = int(tokens[-1])
            tokens = tokens[:-1]
        if len(tokens) == 3 and tokens[1] == "of":
            tokens = [tokens[0], tokens[2]]
        if len(tokens) != 2:
            raise _NoMatch
        first, second = tokens
        if first in _MONTHS:
            month, day_match = _MONTHS[first], _DAY_RE.fullmatch(second)
        elif second in _MONTHS:
            month, day_match = _MONTHS[second], _DAY_RE.fullmatch(first)
        else:
            raise _NoMatch
        if day_match is None:
            raise _NoMatch
        return self._dated(int(day_match[1]), month, year, clock, shown)

    def _dated(self, day: int, month: int, year: int | None, clock: time, shown: str) -> datetime:
        if year is not None:
            return self.at(_calendar_date(year, month, day, shown), clock)
        # No year: the first such date still ahead (Feb 29 may be up to 8 years away).
        for candidate in range(self.today.year, self.today.year + 9):
            try:
                due = self.at(date(candidate, month, day), clock)
            except ValueError:
                continue
            if due > self.now:
                return due
        raise WhenError(f"There is no date “{shown}”. {_TRY}")

    def recurring(self, tokens: list[str]) -> When:
        rule = self._rule(tokens)
        return When(next_occurrence(rule, after=self.now, tz=self.tz, anchor=self.now), str(rule))

    def _rule(self, tokens: list[str]) -> Rule:
        match tokens:
            case ["hour" | "hourly"]:
                return Rule("HOURLY")
            case ["minute"]:
                return Rule("MINUTELY")
        try:
            step = _duration(tokens)
        except _NoMatch:
            pass
        else:
            return self._interval(step)
        if tokens[:1] in (["month"], ["monthly"]):
            return self._monthly(tokens[1:])
        head, clock = self._fixed_time(tokens)
        match head:
            case ["day" | "daily" | "everyday"]:
                return Rule("DAILY", hour=clock.hour, minute=clock.minute, second=clock.second)
            case ["weekday" | "weekdays"]:
                return self._weekly((0, 1, 2, 3, 4), clock)
            case ["week" | "weekly"]:
                return self._weekly((self.today.weekday(),), clock)
        days = {_weekday(token, plural_ok=True) for token in head if token not in ("and", "&")}
        if not days:
            raise _NoMatch
        return self._weekly(tuple(sorted(days)), clock)

    def _fixed_time(self, tokens: list[str]) -> tuple[list[str], time]:
        try:
            head, clock = _split_time(tokens)
        except _NoMatch:
            return tokens, _DEFAULT_TIME
        if not head:
            raise _NoMatch
        return head, clock

    def _interval(self, step: timedelta) -> Rule:
        minutes, rest = divmod(step, timedelta(minutes=1))
        if rest or minutes < 1:
            raise WhenError("Repeats go down to one minute: try “every 30 minutes” or “every 2 hours”.")
        if minutes >= 24 * 60:
            raise WhenError("For a day or more, repeat at a time: “every day 9:00”, “every monday 10:00”.")
        if minutes % 60 == 0:
            return Rule("HOURLY", interval=minutes // 60)
        return Rule("MINUTELY", interval=minutes)

    def _weekly(self, days: tuple[int, ...], clock: time) -> Rule:
        return Rule("WEEKLY", weekdays=days, hour=clock.hour, minute=clock.minute, second=clock.second)

    def _monthly(self, tokens: list[str]) -> Rule:
        """After "every month"/"monthly": "[on] [the] 15th [of the month] [[at] 18:00]"."""
        words = [token for token in tokens if token not in ("on", "the")]
        monthday = self.today.day
        if words and (match := _DAY_RE.fullmatch(words[0])) is not None:
            monthday = int(match[1])
            words = words[3:] if words[1:3] == ["of", "month"] else words[1:]
        match words:
            case []:
                clock = _DEFAULT_TIME
            case [token] | ["at", token]:
                clock = _clock(token, bare_ok=True)
            case _:
                raise _NoMatch
        if not 1 <= monthday <= 31:
            raise WhenError(f"A month has days 1 to 31, not {monthday}.")
        return Rule("MONTHLY", monthday=monthday, hour=clock.hour, minute=clock.minute, second=clock.second)

    def parse(self, tokens: list[str]) -> When:
        if tokens[:1] == ["on"]:
            tokens = tokens[1:]
        match tokens:
            case ["in", *rest]:
                return self.relative(rest)
            case ["every" | "each", *rest]:
                return self.recurring(rest)
            case ["daily" | "hourly" | "weekdays" | "weekly" | "monthly", *_]:
                return self.recurring(tokens)
        return self.absolute(tokens)


def parse_when(text: str, *, now: datetime, tz: ZoneInfo) -> When:
    """Parse a when-expression typed in a chat whose zone is `tz`; raise WhenError.

    `now` must be aware. The result's `due_at` is aware UTC and strictly after `now`.
    """
    now = as_utc(now)
    shown = " ".join(text.split())
    generic = f"I couldn't read “{shown[:40]}” as a time. {_TRY}"
    if not shown:
        raise WhenError(f"Tell me when, for example: {', '.join(WHEN_EXAMPLES)}")
    if len(shown) > _MAX_INPUT:
        raise WhenError(generic)
    try:
        when = _Parser(now, tz).parse(_normalise(shown))
    except _NoMatch:
        raise WhenError(generic) from None
    except WhenError:
        raise
    except (ValueError, OverflowError) as exc:  # e.g. a date near datetime's limits
        raise WhenError(generic) from exc
    if when.due_at <= now:
        raise WhenError(f"{format_when(when.due_at, tz, now=now)} is already in the past. Try a later time.")
    if when.due_at >= _LIMIT:
        raise WhenError("That is too far ahead: I only go up to the year 2100.")
    return when
