"""The Application factory: one place that builds the bot and registers its handlers in match order."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import render
from bot.context import Services
from bot.handlers import chat, guided, places, system, tasks
from bot.ordering import PerChatOrderedProcessor
from bot.ratelimit import FloodLimiter

MAX_CONCURRENT_UPDATES = 64


def build_application(
    services: Services, *, request: BaseRequest | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the Application against TELEGRAM_API_BASE_URL, or on a given request backend (the console)."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token or "0:console")
        .base_url(settings.telegram_api_base_url)
        .concurrent_updates(PerChatOrderedProcessor(MAX_CONCURRENT_UPDATES))
        .post_init(_register_commands)
    )
    application: Application[Any, Any, Any, Any, Any, Any]
    if request is not None:
        application = builder.request(request).get_updates_request(request).updater(None).build()
    else:
        application = builder.rate_limiter(FloodLimiter(max_retries=3)).build()
    application.bot_data["services"] = services
    add_handlers(application)
    return application


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register every handler, in the order they match."""
    only_new = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, system.gate), group=-1)
    commands = {
        "start": chat.start,
        "help": chat.start,
        "add": tasks.add,
        "list": tasks.list_tasks,
        "done": tasks.done,
        "reopen": tasks.reopen,
        "edit": tasks.edit,
        "due": tasks.due,
        "delete": tasks.delete,
        "tz": chat.timezone,
        "settings": chat.show_settings,
        "cancel": guided.cancel,
        "city": places.city,
        "weather": places.weather,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    application.add_handler(CallbackQueryHandler(system.button))
    application.add_handler(MessageHandler(only_new & filters.LOCATION, places.location))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat.migrated))
    application.add_handler(MessageHandler(only_new & filters.COMMAND, system.unknown_command))
    application.add_handler(MessageHandler(only_new & filters.TEXT & ~filters.COMMAND, guided.plain_text))
    application.add_error_handler(system.on_error)


async def _register_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Publish the command menu with setMyCommands."""
    await application.bot.set_my_commands([BotCommand(name, what) for name, what, _ in render.COMMANDS])
