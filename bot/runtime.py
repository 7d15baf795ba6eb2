"""Starting and stopping the bot: settings, migrations, the Application, polling, clean shutdown."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.app import build_application
from bot.context import Services
from bot.dispatcher import ReminderDispatcher
from bot.logs import configure_logging
from core.places import PlaceService
from core.reminders import ReminderService
from core.settings import Settings, SettingsError, load_settings
from core.tasks import TaskService
from storage.engine import make_engine, make_sessionmaker, upgrade_database
from weather import WeatherClient

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class StartupError(Exception):
    """The bot cannot start; the message is one line naming the cause."""


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Migrate the database and build the services on it; dispose of the engine afterwards."""
    try:
        await upgrade_database(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        raise StartupError(f"setting DATABASE_URL: cannot open the database ({type(exc).__name__})") from None
    engine = make_engine(settings.database_url)
    weather = WeatherClient(forecast_url=settings.weather_api_url, geocoding_url=settings.geocoding_api_url)
    try:
        sessions = make_sessionmaker(engine)
        yield Services(
            settings=settings,
            tasks=TaskService(sessions, default_timezone=settings.default_timezone),
            places=PlaceService(sessions, weather),
            reminders=ReminderService(sessions, grace=timedelta(hours=settings.reminder_grace_hours)),
        )
    finally:
        await weather.aclose()
        await engine.dispose()


@asynccontextmanager
async def dispatching(application: AnyApplication, services: Services) -> AsyncIterator[ReminderDispatcher]:
    """Run the reminder dispatcher beside a started Application."""
    dispatcher = ReminderDispatcher(
        application.bot,
        services.reminders,
        services.places,
        poll_seconds=services.settings.reminder_poll_seconds,
    )
    dispatcher.start(application.job_queue)
    services.wake_dispatcher = dispatcher.wake
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()


@asynccontextmanager
async def running(settings: Settings, *, poll_timeout: int = 10) -> AsyncIterator[AnyApplication]:
    """The bot, polling Telegram (at TELEGRAM_API_BASE_URL) until the block ends."""
    async with open_services(settings) as services:
        application = build_application(services)
        try:
            await application.initialize()
        except InvalidToken:
            raise StartupError("setting TELEGRAM_BOT_TOKEN: Telegram rejected the token") from None
        except NetworkError as exc:
            raise StartupError(f"cannot reach Telegram at TELEGRAM_API_BASE_URL ({exc.message})") from None
        try:
            # initialize() does not run post_init (only run_polling does): publish the command menu here.
            if application.post_init is not None:
                await application.post_init(application)
            updater = application.updater
            assert updater is not None
            await application.start()
            await updater.start_polling(timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
            try:
                async with dispatching(application, services):
                    yield application
            finally:
                await updater.stop()
                await application.stop()
        finally:
            await application.shutdown()


async def serve(settings: Settings) -> None:
    """Poll Telegram until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(settings):
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """The command line: `run_bot.py` polls Telegram, `run_bot.py --console` chats in the terminal."""
    parser = argparse.ArgumentParser(
        prog="run_bot.py", description="Taskcast, the task bot with the forecast."
    )
    parser.add_argument(
        "--console", action="store_true", help="chat with the bot in this terminal, no token needed"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if not args.console and not settings.telegram_bot_token:
            raise SettingsError(
                "setting TELEGRAM_BOT_TOKEN: required (get one from @BotFather), or try --console"
            )
    except SettingsError as exc:
        print(f"taskcast: {exc}", file=sys.stderr)
        return 2
    level = settings.log_level
    if args.console and "log_level" not in settings.model_fields_set:
        level = "WARNING"  # the terminal is the chat: keep routine log lines out of it unless asked for
    configure_logging(level, secrets=[settings.telegram_bot_token])
    try:
        if args.console:
            from bot.console import run_console

            asyncio.run(run_console(settings))
        else:
            asyncio.run(serve(settings))
    except StartupError as exc:
        print(f"taskcast: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
