"""Parsing of command arguments into plain values: task numbers, titles, `/add` parts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import UserError

MAX_TITLE = 256
MAX_PLACE = 200
MAX_NUMBERS = 50
_NUMBER = re.compile(r"#?(\d{1,9})")


@dataclass(frozen=True)
class AddArgs:
    """The parts of `/add <title> | <when> | <place>`; when and place are optional."""

    title: str
    when: str | None
    place: str | None


def clean_title(text: str, *, usage: str) -> str:
    """A task title: trimmed, single-line, 1..MAX_TITLE characters."""
    title = " ".join(text.split())
    if not title:
        raise UserError(f"The title is empty. {usage}")
    if len(title) > MAX_TITLE:
        raise UserError(f"The title is {len(title)} characters long; the limit is {MAX_TITLE}. {usage}")
    return title


def parse_add(text: str) -> AddArgs:
    """Split `/add` arguments on `|` into title, when and place."""
    usage = "Use: /add Buy milk | tomorrow 9:00 | Berlin (when and place are optional)."
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 3:
        raise UserError(f"Too many “|” separators. {usage}")
    title = clean_title(parts[0], usage=usage)
    when = parts[1] if len(parts) > 1 and parts[1] else None
    place = " ".join(parts[2].split()) if len(parts) > 2 and parts[2] else None
    if place is not None and len(place) > MAX_PLACE:
        raise UserError(f"The place is too long (limit {MAX_PLACE} characters). {usage}")
    return AddArgs(title=title, when=when, place=place)


def parse_number(token: str, *, usage: str) -> int:
    """A task number written `3` or `#3`."""
    if not token.strip():
        raise UserError(f"Which task? {usage}")
    match = _NUMBER.fullmatch(token.strip())
    if not match or int(match.group(1)) == 0:
        raise UserError(f"“{token}” is not a task number. {usage}")
    return int(match.group(1))


def parse_numbers(text: str, *, usage: str) -> list[int]:
    """One or more task numbers separated by spaces or commas, without duplicates, in the order given."""
    tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    if not tokens:
        raise UserError(f"Which task? {usage}")
    if len(tokens) > MAX_NUMBERS:
        raise UserError(f"At most {MAX_NUMBERS} tasks at once. {usage}")
    numbers: list[int] = []
    for token in tokens:
        number = parse_number(token, usage=usage)
        if number not in numbers:
            numbers.append(number)
    return numbers


def split_number(text: str, *, usage: str) -> tuple[int, str]:
    """`<n> <rest>` as used by `/edit` and `/due`: the number and the (possibly empty) rest.

    Any whitespace separates them, a line break too (`/edit 1⏎New title`, as phones often send it);
    the rest is trimmed, its inner text kept as typed.
    """
    parts = text.split(maxsplit=1)
    if not parts:
        raise UserError(f"Which task? {usage}")
    return parse_number(parts[0], usage=usage), parts[1].strip() if len(parts) > 1 else ""
