"""The reminder's buttons: ✅ Done and the snoozes."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Message, Update

from bot import keyboards, render
from bot.context import Context, services
from core.reminders import snooze_until


async def act(update: Update, context: Context, action: keyboards.ReminderAction) -> None:
    """Do what the pressed reminder button says, show the result in the reminder, answer the press."""
    query = update.callback_query
    if query is None:
        return
    svc = services(context)
    chat = await svc.tasks.chat_settings(action.chat_id)
    occurrence = datetime.fromtimestamp(action.occurrence, tz=UTC)
    now = svc.reminders.now()
    if action.action == "d":
        outcome = await svc.reminders.complete_occurrence(action.chat_id, action.number, occurrence)
    else:
        until = snooze_until(action.action, now=now, zone=chat.zone)
        outcome = await svc.reminders.snooze(action.chat_id, action.number, occurrence, until)
        svc.wake_dispatcher()
    message = query.message
    if isinstance(message, Message) and message.text:
        await query.edit_message_text(render.outcome(message.text_html, outcome.text), parse_mode="HTML")
    await query.answer(outcome.text)
