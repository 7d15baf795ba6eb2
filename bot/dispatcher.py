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
from bot.ratelimit import GROUP_SEND_INTERVAL, FloodLimiter
from core.places import PlaceService, ReminderForecast
from core.reminders import ReminderService, is_late, is_snoozed, spot_of
from storage.reminders import ClaimedReminder

logger = logging.getLogger(__name__)

# A reminder waits at most this long for its forecast, so it still goes out on time.
FORECAST_BUDGET = 1.0
MAX_BACKOFF = timedelta(minutes=30)
PLAIN_AFTER_REFUSALS = 3
SEND_MARGIN = timedelta(seconds=20)


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
                sent += await self._handle(item, forecast)
        return sent

    async def _handle(self, item: ClaimedReminder, forecast: ReminderForecast) -> int:
        """Send one claimed reminder, or give it back; one reminder's failure never holds up the others."""
        if self._stopping:  # the rest of the batch goes back for the next process
            await self._reminders.retry_later(item, timedelta(0), failed=False)
            return 0
        if not self._group_has_room(item.chat_id):
            # Waiting out a group's flood bucket here would hold up every other chat's reminders.
            await self._reminders.retry_later(item, timedelta(seconds=GROUP_SEND_INTERVAL), failed=False)
            return 0
        if not await self._reminders.renew(item):
            logger.info("task %s changed or was taken over since it was claimed: not sending", item.task_id)
            return 0
        try:
            return await self._deliver(item, forecast)
        except Exception:
            logger.exception("could not send the reminder of task %s; it will be retried", item.task_id)
            await self._reminders.retry_later(item, backoff(item.attempts))
            return 0

    def _group_has_room(self, chat_id: int) -> bool:
        limiter = getattr(self._bot, "rate_limiter", None)
        return not isinstance(limiter, FloodLimiter) or limiter.group_has_room(chat_id)

    async def _summarise(self, items: list[ClaimedReminder]) -> int:
        by_chat: dict[int, list[ClaimedReminder]] = defaultdict(list)
        for item in items:
            by_chat[item.chat_id].append(item)
        sent = 0
        for chat_items in by_chat.values():
            try:
                if await self._send(chat_items, render.missed_summary(chat_items), None):
                    for item in chat_items:
                        await self._reminders.mark_sent(item)
                    sent += len(chat_items)
            except Exception:
                logger.exception("could not send a missed-reminders summary; it will be retried")
                for item in chat_items:
                    await self._reminders.retry_later(item, backoff(item.attempts))
        return sent

    async def _deliver(self, item: ClaimedReminder, forecast: ReminderForecast) -> int:
        now = self._reminders.now()
        markup: Any = keyboards.reminder_buttons(item.chat_id, item.number, occurrence(item, now))
        if item.refusals >= PLAIN_AFTER_REFUSALS:
            # Telegram refused the formatted reminder several times (it may be a bug of ours): plain text,
            # without buttons, still reaches the chat, where a reminder lost to a formatting error would not.
            text, parse_mode, markup = render.reminder_plain(item, now), None, None
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
        failed = refused = False
        # A send held up past the lease (the limiter sleeping out a long 429) could be sent again by another
        # process: give it up before the lease ends instead.
        deadline = self._reminders.lease.total_seconds() - SEND_MARGIN.total_seconds()
        try:
            async with asyncio.timeout(deadline):
                await self._bot.send_message(chat_id, text, parse_mode=parse_mode, reply_markup=markup)
            return True
        except TimeoutError:
            logger.warning("a reminder for chat %s waited too long for Telegram; retrying later", chat_id)
            delay = SEND_MARGIN
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
                delay, failed, refused = backoff(items[0].attempts), True, True
        except NetworkError as exc:
            logger.warning("network error sending a reminder to chat %s: %s", chat_id, exc.message)
            delay, failed = backoff(items[0].attempts), True
        for item in items:
            await self._reminders.retry_later(item, delay, failed=failed, refused=refused)
        return False
