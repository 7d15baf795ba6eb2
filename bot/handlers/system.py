"""Cross-cutting handlers: the allow-list gate, button routing, unknown commands and the error handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import keyboards, render
from bot.context import Context, message_of, reply, services
from bot.handlers import guided, places, reminders, tasks
from core.errors import UserError

logger = logging.getLogger(__name__)


async def gate(update: Update, context: Context) -> None:
    """Refuse chats outside ALLOWED_CHAT_IDS politely, before anything about them is stored."""
    chat = update.effective_chat
    if chat is None or services(context).settings.chat_allowed(chat.id):
        return
    if update.callback_query is not None:
        await update.callback_query.answer(render.refusal(), show_alert=True)
    elif update.message is not None and (update.message.text or "").startswith("/"):
        await update.message.reply_html(render.refusal())
    raise ApplicationHandlerStop


async def button(update: Update, context: Context) -> None:
    """Route a button press, checking that the button belongs to the chat it was pressed in."""
    query = update.callback_query
    if query is None:
        return
    callback = keyboards.parse_callback(query.data or "")
    chat = update.effective_chat
    if callback is None or chat is None or callback.chat_id != chat.id:
        await query.answer("This button is no longer valid.", show_alert=True)
        return
    if isinstance(callback, keyboards.ListPage):
        await tasks.turn_page(update, context, callback)
    elif isinstance(callback, keyboards.WhenChoice):
        await guided.choose_when(update, context, callback)
    elif isinstance(callback, keyboards.ReminderAction):
        await reminders.act(update, context, callback)
    else:
        await places.choose_city(update, context, callback)


async def unknown_command(update: Update, context: Context) -> None:
    """Answer a command the bot does not know (in groups only when it is addressed to this bot)."""
    message = message_of(update)
    command = (message.text or "").split(maxsplit=1)[0]
    name, _, target = command.partition("@")
    if target and target.lower() != context.bot.username.lower():
        return
    if message.chat.type != ChatType.PRIVATE and not target:
        return
    await reply(update, render.unknown_command(name))


async def on_error(update: object, context: Context) -> None:
    """Answer a user error with its explanation; log anything else and say something went wrong, once."""
    error = context.error
    if isinstance(error, UserError):
        text = render.error(str(error))
    else:
        logger.error("handling an update failed", exc_info=error)
        text = render.something_went_wrong()
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(
                str(error) if isinstance(error, UserError) else "Something went wrong."
            )
        elif update.effective_message is not None:
            await reply(update, text)
    except Exception:  # the chat may be gone or Telegram down: nothing more to tell anyone
        logger.warning("could not tell the chat about an error", exc_info=True)
