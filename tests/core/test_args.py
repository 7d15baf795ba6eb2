"""core.args.split_number: `<n> <rest>` for /edit and /due, separated by any whitespace."""

from __future__ import annotations

import pytest

from core.args import split_number
from core.errors import UserError

USAGE = "Use: /edit 3 New title."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 New title", (1, "New title")),
        ("1\nNew title", (1, "New title")),  # a line break after the number, as phones send it
        ("1\r\nNew title", (1, "New title")),
        ("1\tNew title", (1, "New title")),
        ("#12   tomorrow 9am", (12, "tomorrow 9am")),
        ("  3  ", (3, "")),
        ("3", (3, "")),
        ("1 New  title\nsecond line ", (1, "New  title\nsecond line")),  # the rest's inside is kept
        ("1\ntomorrow  9am", (1, "tomorrow  9am")),
    ],
)
def test_split_number(text: str, expected: tuple[int, str]) -> None:
    assert split_number(text, usage=USAGE) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_no_number_asks_which_task(text: str) -> None:
    with pytest.raises(UserError, match="Which task"):
        split_number(text, usage=USAGE)


@pytest.mark.parametrize("text", ["x New title", "0 New title", "1New title", "one\ntwo"])
def test_a_bad_number_is_named(text: str) -> None:
    with pytest.raises(UserError, match="is not a task number") as error:
        split_number(text, usage=USAGE)
    assert USAGE in str(error.value)
