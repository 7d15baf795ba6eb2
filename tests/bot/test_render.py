"""Rendering limits: what the bot sends must fit Telegram's 4096 characters whatever the titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram.constants import MessageLimit

from bot import render
from storage.reminders import ClaimedReminder
from tests.factories import claimed_reminder
from tests.fakes.telegram_api import parse_html, utf16_len

T = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def missed(number: int, title: str) -> ClaimedReminder:
    return claimed_reminder(
        task_id=number, chat_id=1, number=number, title=title, due_at=T - timedelta(days=3)
    )


def test_a_summary_of_many_long_titles_fits_one_message() -> None:
    for title in ("x" * 256, "&" * 256, "🙂" * 256):
        text = render.missed_summary([missed(n, title) for n in range(1, 60)])
        shown, _ = parse_html(text)
        assert utf16_len(shown) <= MessageLimit.MAX_TEXT_LENGTH
        assert "more." in text and text.endswith("/done marks them done.")


def test_a_reminder_shows_only_its_latest_button_result() -> None:
    once = render.outcome("⏰ <b>#1</b> Tea", "This reminder is out of date.")
    twice = render.outcome(once, "✅ Done.")
    assert twice == "⏰ <b>#1</b> Tea\n\n<i>✅ Done.</i>"
