"""What handlers share: the services, and reading chat identity and arguments off an Update."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from core.places import PlaceService
from core.reminders import ReminderService
from core.settings import Settings
from core.tasks import ChatRef, TaskService

Context = ContextTypes.DEFAULT_TYPE


@dataclass
class Services:
    """The services the handlers call; built once per process and kept in bot_data."""

    settings: Settings
    tasks: TaskService
    places: PlaceService
    reminders: ReminderService
    wake_dispatcher: Callable[[], None] = lambda: None  # set once the dispatcher runs


def services(context: Context) -> Services:
    """The process's services."""
    return cast(Services, context.bot_data["services"])


def chat_ref(update: Update) -> ChatRef:
    """The chat (and user) an update comes from: the identity every query is scoped by."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError("update without a chat")
    user = update.effective_user
    return ChatRef(
        chat_id=chat.id,
        kind=chat.type,
        title=chat.title or chat.full_name,
        user_id=user.id if user else None,
    )


def message_of(update: Update) -> Message:
    """The update's message (handlers registered for messages only)."""
    message = update.effective_message
    if message is None:
        raise ValueError("update without a message")
    return message


def command_args(update: Update) -> str:
    """The text after `/command` (or `/command@bot`), stripped; keeps `|` and inner spacing."""
    text = message_of(update).text or ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def reply(update: Update, text: str, **kwargs: Any) -> Message:
    """Answer in the update's chat in HTML; in groups the answer quotes the message it answers."""
    message = message_of(update)
    quote = message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    return await message.reply_html(text, do_quote=quote, disable_web_page_preview=True, **kwargs)
