"""The one place that converts and formats times.

Everything stored or passed around is an aware UTC datetime; a chat's zone is applied only
to read a wall-clock time (`localize`) or to show one (`format_*`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "UnknownZone",
    "as_utc",
    "format_clock",
    "format_short",
    "format_when",
    "get_zone",
    "is_valid_zone",
    "localize",
    "to_local",
    "utc_now",
]

# Fixed English names so output never depends on the process locale.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class UnknownZone(ValueError):
    """A time zone name that is not a known IANA zone; str() is user-facing."""


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """Return the aware `dt` as UTC; raise ValueError for a naive datetime."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} where an aware one is required")
    return dt.astimezone(UTC)


def to_local(dt_utc: datetime, tz: ZoneInfo) -> datetime:
    """The aware instant `dt_utc` as an aware datetime in `tz`."""
    return as_utc(dt_utc).astimezone(tz)


def localize(naive_local: datetime, tz: ZoneInfo) -> datetime:
    """Read a naive wall-clock time in `tz` and return the instant as aware UTC.

    DST is resolved deterministically:
    - in a gap (a wall time that never happens, e.g. 02:30 on spring-forward day in Europe/Berlin)
      the time moves forward by the gap length: 02:30 becomes 03:30 local;
    - in an overlap (a wall time that happens twice on fall-back day) the first occurrence,
      i.e. the earlier instant, is taken.
    Both follow from PEP 495's fold=0, which applies the offset in force before the transition.
    """
    if naive_local.tzinfo is not None:
        raise ValueError("localize() takes a naive wall-clock datetime")
    return naive_local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _clock(local: datetime) -> str:
    if local.second:
        return f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    return f"{local.hour:02d}:{local.minute:02d}"


def format_short(dt_utc: datetime, tz: ZoneInfo, *, now: datetime | None = None) -> str:
    """Compact local form for lists: "Fri 6 Dec 17:30".

    Seconds are shown only when non-zero; the year only when it differs from `now`'s year in `tz`.
    """
    local = to_local(dt_utc, tz)
    this_year = to_local(now if now is not None else utc_now(), tz).year
    year = f" {local.year}" if local.year != this_year else ""
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}{year} {_clock(local)}"


def format_when(dt_utc: datetime, tz: ZoneInfo, *, now: datetime | None = None) -> str:
    """Full local form with the zone: "Fri 6 Dec 17:30, Europe/Berlin" (rules as in `format_short`)."""
    return f"{format_short(dt_utc, tz, now=now)}, {tz.key}"


def format_clock(dt_utc: datetime, tz: ZoneInfo) -> str:
    """Local "HH:MM", e.g. for "was due 08:00"."""
    local = to_local(dt_utc, tz)
    return f"{local.hour:02d}:{local.minute:02d}"


# The system tz directory can add host-dependent or placeholder entries that aren't real zones.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones() - _NOT_ZONES}


def get_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA zone name, matched case-insensitively ("europe/berlin" works).

    Only names listed by `zoneinfo.available_timezones()` are accepted (minus "localtime" and
    similar host entries), so paths and stray files under the tz directory are rejected.
    Raises UnknownZone.
    """
    canonical = _zones_by_folded_name().get(name.strip().casefold())
    if canonical is None:
        shown = name.strip()[:40] or "(empty)"
        raise UnknownZone(
            f"“{shown}” is not a time zone I know. "
            "Use an IANA name such as Europe/Berlin, America/New_York, Asia/Tokyo or UTC."
        )
    return ZoneInfo(canonical)


def is_valid_zone(name: str) -> bool:
    """Whether `get_zone(name)` would succeed."""
    try:
        get_zone(name)
    except UnknownZone:
        return False
    return True


def stored_zone(name: str | None) -> ZoneInfo:
    """A zone read back from the database; UTC if it is unset or (from older data) not a zone we know,
    so one bad row can never stop reminders from being rendered."""
    return get_zone(name) if name and is_valid_zone(name) else ZoneInfo("UTC")
