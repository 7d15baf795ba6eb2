"""Chat-level commands: /start, /help, /tz, /settings."""

from __future__ import annotations

from telegram import Update

from bot import render
from bot.context import Context, chat_ref, command_args, reply, services


async def start(update: Update, context: Context) -> None:
    """Greet the chat and list the commands with an example each."""
    await services(context).tasks.open_chat(chat_ref(update))
    await reply(update, render.help_text())


async def timezone(update: Update, context: Context) -> None:
    """Show the chat's time zone, or set it: `/tz Europe/Berlin`."""
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    name = command_args(update)
    if not name:
        await reply(update, render.timezone_shown(chat, tasks.now()))
        return
    await reply(update, render.timezone_set(await tasks.set_timezone(chat.chat_id, name), tasks.now()))


async def show_settings(update: Update, context: Context) -> None:
    """Show the chat's settings."""
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    open_count, all_count = await tasks.count(chat.chat_id)
    await reply(update, render.settings(chat, open_count, all_count, tasks.now()))


async def migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: its tasks follow it to the new chat id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await services(context).reminders.chat_migrated(old_id, new_id)
