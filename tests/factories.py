"""Builders of test data shared across the suite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.reminders import ClaimedReminder


def claimed_reminder(**overrides: Any) -> ClaimedReminder:
    """A claimed reminder of task #1 "Picnic" in a Berlin chat with no place; override any field."""
    due = overrides.pop("due_at", datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    fields: dict[str, Any] = {
        "task_id": 1,
        "chat_id": 100,
        "number": 1,
        "title": "Picnic",
        "due_at": due,
        "remind_for": due,
        "rule": None,
        "place": None,
        "place_latitude": None,
        "place_longitude": None,
        "place_timezone": None,
        "chat_timezone": "Europe/Berlin",
        "chat_place_name": None,
        "chat_latitude": None,
        "chat_longitude": None,
        "claim_token": "token",
        "attempts": 0,
    }
    fields.update(overrides)
    return ClaimedReminder(**fields)
