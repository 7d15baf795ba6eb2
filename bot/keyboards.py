"""Inline keyboards and their callback data; every button names the chat it belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core import times
from weather import Place

# The guided /add's when-buttons: code -> when-expression (None: no date).
WHEN_CHOICES: dict[str, str | None] = {
    "t18": "today 18:00",
    "m18": "tomorrow 18:00",
    "m9": "tomorrow 9:00",
    "n": None,
}


@dataclass(frozen=True)
class ListPage:
    """A /list page button: which chat, which page, open tasks only or all."""

    chat_id: int
    page: int
    include_done: bool

    def data(self) -> str:
        return f"l:{self.chat_id}:{self.page}:{'a' if self.include_done else 'o'}"


@dataclass(frozen=True)
class WhenChoice:
    """A guided-/add when-button: whose draft it answers and which choice."""

    chat_id: int
    user_id: int
    code: str

    def data(self) -> str:
        return f"w:{self.chat_id}:{self.user_id}:{self.code}"


@dataclass(frozen=True)
class ReminderAction:
    """A reminder button: which task, which occurrence (epoch seconds), and done or a snooze."""

    chat_id: int
    number: int
    occurrence: int
    action: str  # "d" done, "s10"/"s60" snooze minutes, "tm" tomorrow 9:00

    def data(self) -> str:
        return f"r:{self.chat_id}:{self.number}:{self.occurrence}:{self.action}"


@dataclass(frozen=True)
class CityChoice:
    """One of the other matches of an ambiguous /city."""

    chat_id: int
    place_id: int

    def data(self) -> str:
        return f"c:{self.chat_id}:{self.place_id}"


REMINDER_ACTIONS = ("d", "s10", "s60", "tm")
Callback = ListPage | WhenChoice | ReminderAction | CityChoice


def parse_callback(data: str) -> Callback | None:
    """Decode callback data; None for anything malformed or unknown."""
    parts = data.split(":")
    try:
        if parts[0] == "l" and len(parts) == 4 and parts[3] in ("a", "o"):
            return ListPage(int(parts[1]), int(parts[2]), parts[3] == "a")
        if parts[0] == "w" and len(parts) == 4 and parts[3] in WHEN_CHOICES:
            return WhenChoice(int(parts[1]), int(parts[2]), parts[3])
        if parts[0] == "r" and len(parts) == 5 and parts[4] in REMINDER_ACTIONS:
            return ReminderAction(int(parts[1]), int(parts[2]), int(parts[3]), parts[4])
        if parts[0] == "c" and len(parts) == 3:
            return CityChoice(int(parts[1]), int(parts[2]))
    except ValueError:
        return None
    return None


def pager(chat_id: int, page: int, pages: int, *, include_done: bool) -> InlineKeyboardMarkup | None:
    """◀ ▶ buttons for a paged list (None when it fits one page)."""
    if pages <= 1:
        return None
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀", callback_data=ListPage(chat_id, page - 1, include_done).data()))
    row.append(
        InlineKeyboardButton(
            f"{page + 1}/{pages}", callback_data=ListPage(chat_id, page, include_done).data()
        )
    )
    if page < pages - 1:
        row.append(InlineKeyboardButton("▶", callback_data=ListPage(chat_id, page + 1, include_done).data()))
    return InlineKeyboardMarkup([row])


def when_choices(chat_id: int, user_id: int, zone: ZoneInfo, now: datetime) -> InlineKeyboardMarkup:
    """The guided /add's when-buttons; "Today 18:00" only while it is still ahead in the chat's zone."""
    local = times.to_local(now, zone)
    first = ("t18", "Today 18:00") if local.hour < 18 else ("m18", "Tomorrow 18:00")
    buttons = [first, ("m9", "Tomorrow 9:00"), ("n", "No date")]
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=WhenChoice(chat_id, user_id, code).data())]
            for code, label in buttons
        ]
    )


def reminder_buttons(chat_id: int, number: int, occurrence: datetime) -> InlineKeyboardMarkup:
    """✅ Done and the snoozes, each naming its duration."""
    epoch = int(occurrence.timestamp())

    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            label, callback_data=ReminderAction(chat_id, number, epoch, action).data()
        )

    return InlineKeyboardMarkup(
        [
            [button("✅ Done", "d"), button("💤 10 min", "s10"), button("💤 1 h", "s60")],
            [button("💤 Tomorrow 9:00", "tm")],
        ]
    )


def city_choices(chat_id: int, places: Sequence[Place]) -> InlineKeyboardMarkup:
    """Buttons for the other matches of an ambiguous place name."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(place.label[:60], callback_data=CityChoice(chat_id, place.id).data())]
            for place in places
            if place.id is not None
        ]
    )
