"""The reminder dispatcher: claims due reminders from the database, sends them with the forecast, and
records the outcome. APScheduler (through PTB's JobQueue) only wakes it; what is due lives in the database.

Sends go out one at a time, so a crash can repeat at most the one reminder in flight (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import CallbackContext, JobQueue

from bot import keyboards, render
from core.places import PlaceService, ReminderForecast
from core.reminders import ReminderService, is_late, is_snoozed, spot_of
from storage.reminders import ClaimedReminder

logger = logging.getLogger(__name__)

# A reminder waits at most this long for its forecast, so it still goes out on time.
FORECAST_BUDGET = 1.0
MAX_BACKOFF = timedelta(minutes=30)
PLAIN_AFTER_ATTEMPTS = 3


def backoff(attempts: int) -> timedelta:
    """Delay before retrying a send that failed `attempts` times: 2, 4, 8 … seconds, at most 30 min."""
    return min(timedelta(seconds=2 ** min(attempts + 1, 16)), MAX_BACKOFF)


def occurrence(item: ClaimedReminder, now: datetime) -> datetime:
    """The due time a reminder is about."""
    return item.remind_for or item.due_at or now


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ReminderDispatcher:
    """Sends due reminders; wake() asks it to look now."""

    def __init__(
        self, bot: Bot, reminders: ReminderService, places: PlaceService, *, poll_seconds: float
    ) -> None:
        self._bot = bot
        self._reminders = reminders
        self._places = places
        self._poll = poll_seconds
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._job_queue: JobQueue[Any] | None = None

    def start(self, job_queue: JobQueue[Any] | None) -> None:
        """Start the dispatch loop, woken by a repeating job and a job at the next due time."""
        self._job_queue = job_queue
        if job_queue is not None:
            job_queue.run_repeating(self._tick, interval=self._poll, first=0, name="reminders-poll")
        self._task = asyncio.create_task(self._run(), name="reminder-dispatcher")
        self.wake()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop after the reminder being sent (waiting at most `grace` seconds); one cut off is retried
        after its lease, so nothing is lost either way."""
        if self._task is None:
            return
        self._stopping = True
        self.wake()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        """Look for due reminders now."""
        self._wakeup.set()

    async def _tick(self, context: CallbackContext[Any, Any, Any, Any]) -> None:
        self.wake()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._stopping:
                return
            try:
                await self.dispatch_due()
                await self._schedule_next()
            except Exception:
                logger.exception("reminder dispatch failed; retrying at the next wake-up")

    async def _schedule_next(self) -> None:
        if self._job_queue is None:
            return
        upcoming = await self._reminders.next_wakeup()
        for job in self._job_queue.get_jobs_by_name("reminders-next"):
            job.schedule_removal()
        if upcoming is not None and upcoming > self._reminders.now():
            self._job_queue.run_once(self._tick, when=upcoming, name="reminders-next")

    async def dispatch_due(self) -> int:
        """Send everything due now; returns how many reminders went out."""
        sent = 0
        stale = await self._reminders.claim_stale()
        if stale:
            sent += await self._summarise(stale)
        while not self._stopping and (batch := await self._reminders.claim_fresh()):
            # The batch's forecasts are fetched together (one request per place and hour), then sent in order.
            now = self._reminders.now()
            forecasts = await asyncio.gather(
                *(
                    self._places.for_reminder(spot_of(item), occurrence(item, now), budget=FORECAST_BUDGET)
                    for item in batch
                )
            )
            for item, forecast in zip(batch, forecasts, strict=True):
                if self._stopping:  # the rest of the batch goes back for the next process
                    await self._reminders.retry_later(item, timedelta(0))
                elif await self._reminders.renew(item):
                    sent += await self._deliver(item, forecast)
                else:
                    logger.warning(
                        "lost the claim on task %s before sending; another process has it", item.task_id
                    )
        return sent

    async def _summarise(self, items: list[ClaimedReminder]) -> int:
        by_chat: dict[int, list[ClaimedReminder]] = defaultdict(list)
        for item in items:
            by_chat[item.chat_id].append(item)
        sent = 0
        for chat_items in by_chat.values():
            if await self._send(chat_items, render.missed_summary(chat_items), None):
                for item in chat_items:
                    await self._reminders.mark_sent(item)
                sent += len(chat_items)
        return sent

    async def _deliver(self, item: ClaimedReminder, forecast: ReminderForecast) -> int:
        now = self._reminders.now()
        markup = keyboards.reminder_buttons(item.chat_id, item.number, occurrence(item, now))
        if item.attempts >= PLAIN_AFTER_ATTEMPTS:
            # Telegram refused the formatted reminder several times (it may be a bug of ours): plain text
            # still reaches the chat, where a reminder lost to a formatting error would not.
            text, parse_mode = render.reminder_plain(item, now), None
        else:
            late, snoozed = is_late(item, now), is_snoozed(item)
            text, parse_mode = (
                render.reminder(item, forecast, late=late, snoozed=snoozed, now=now),
                ParseMode.HTML,
            )
        if not await self._send([item], text, markup, parse_mode=parse_mode):
            return 0
        if not await self._reminders.mark_sent(item):
            logger.warning("reminder of task %s was sent after its lease ended", item.task_id)
        return 1

    async def _send(
        self, items: list[ClaimedReminder], text: str, markup: Any, *, parse_mode: str | None = ParseMode.HTML
    ) -> bool:
        """Send to the items' chat; on failure give the claims back as Telegram's answer says."""
        chat_id = items[0].chat_id
        try:
            await self._bot.send_message(chat_id, text, parse_mode=parse_mode, reply_markup=markup)
            return True
        except RetryAfter as exc:
            delay = timedelta(seconds=_seconds(exc.retry_after))
            logger.info("Telegram asked to retry after %s s (chat %s)", delay.total_seconds(), chat_id)
        except ChatMigrated as exc:
            logger.info("chat %s migrated to %s; moving its tasks", chat_id, exc.new_chat_id)
            await self._reminders.chat_migrated(chat_id, exc.new_chat_id)
            delay = timedelta(0)
        except Forbidden as exc:
            logger.info("chat %s is unreachable (%s); its reminders stop", chat_id, exc.message)
            await self._reminders.chat_unreachable(chat_id)
            delay = timedelta(0)
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                logger.info("chat %s not found; its reminders stop", chat_id)
                await self._reminders.chat_unreachable(chat_id)
                delay = timedelta(0)
            else:
                logger.error("Telegram refused a reminder for chat %s: %s", chat_id, exc.message)
                delay = backoff(items[0].attempts)
        except NetworkError as exc:
            logger.warning("network error sending a reminder to chat %s: %s", chat_id, exc.message)
            delay = backoff(items[0].attempts)
        for item in items:
            await self._reminders.retry_later(item, delay)
        return False
