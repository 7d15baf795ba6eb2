"""Inline keyboards and their callback data; every button names the chat it belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core import times

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


Callback = ListPage | WhenChoice


def parse_callback(data: str) -> Callback | None:
    """Decode callback data; None for anything malformed or unknown."""
    parts = data.split(":")
    try:
        if parts[0] == "l" and len(parts) == 4 and parts[3] in ("a", "o"):
            return ListPage(int(parts[1]), int(parts[2]), parts[3] == "a")
        if parts[0] == "w" and len(parts) == 4 and parts[3] in WHEN_CHOICES:
            return WhenChoice(int(parts[1]), int(parts[2]), parts[3])
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
