"""Reminder rules: which reminders are due, late or long missed, and what sending, snoozing and
completing one does to its task. The database is the source of truth; nothing here keeps state."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import recurrence, times
from core.errors import UserError
from core.places import Spot
from core.tasks import not_found
from storage import reminders as store
from storage import repository
from storage.engine import writing
from storage.reminders import ClaimedReminder

# A reminder sent this long after its due time says it is late ("was due 08:00").
LATE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Outcome:
    """What a reminder button did, for the edited reminder to show."""

    text: str
    next_due: datetime | None = None


def _stored_occurrence(occurrence: datetime, *stored: datetime | None) -> datetime:
    """The stored time a reminder button means: buttons name their occurrence in whole seconds, while
    due times read from relative expressions ("in 2 hours", "every 2 hours") keep microseconds."""
    for when in stored:
        if when is not None and when.replace(microsecond=0) == occurrence:
            return when
    return occurrence


def snooze_until(choice: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """When a snooze button ("s10", "s60": minutes; "tm": tomorrow 09:00 in the chat's zone) reminds again."""
    if choice == "tm":
        tomorrow = times.to_local(now, zone).date() + timedelta(days=1)
        return times.localize(datetime.combine(tomorrow, time(9, 0)), zone)
    return now + timedelta(minutes=int(choice.removeprefix("s")))


def _out_of_date(number: int, due_at: datetime | None, zone: ZoneInfo) -> Outcome:
    """A button of a reminder whose task was given another due time since: it changes nothing."""
    now_due = f"is now due {times.format_when(due_at, zone)}" if due_at else "has no due time now"
    return Outcome(f"This reminder is out of date: #{number} {now_due}.")


def spot_of(reminder: ClaimedReminder) -> Spot | None:
    """The place whose forecast a reminder carries: the task's own, else the chat's."""
    if reminder.place_latitude is not None and reminder.place_longitude is not None:
        return Spot(reminder.place or "", reminder.place_latitude, reminder.place_longitude)
    if reminder.chat_latitude is not None and reminder.chat_longitude is not None:
        return Spot(reminder.chat_place_name or "", reminder.chat_latitude, reminder.chat_longitude)
    return None


def is_late(reminder: ClaimedReminder, now: datetime) -> bool:
    """Whether the reminder goes out noticeably after it was scheduled (a snoozed one is not late)."""
    scheduled = reminder.remind_at or reminder.remind_for
    return scheduled is not None and now - scheduled > LATE_AFTER


def is_snoozed(reminder: ClaimedReminder) -> bool:
    """Whether this reminder comes again after a snooze."""
    # Both are written together (and equal) when a reminder is scheduled; only a snooze moves it later.
    return (
        reminder.remind_at is not None
        and reminder.remind_for is not None
        and reminder.remind_at > reminder.remind_for
    )


class ReminderService:
    """Claims, completes and reschedules reminders; safe with several processes on one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        grace: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(seconds=120),
        batch: int = 10,
        clock: Callable[[], datetime] = times.utc_now,
    ) -> None:
        self._sessions = sessions
        self.grace = grace
        self._lease = lease
        self._batch = batch
        self._clock = clock

    def now(self) -> datetime:
        """The current time (aware UTC)."""
        return self._clock()

    async def claim_fresh(self) -> list[ClaimedReminder]:
        """Claim a batch of due reminders that are within the grace period."""
        return await self._claim(self._batch, stale=False)

    async def claim_stale(self, limit: int = 500) -> list[ClaimedReminder]:
        """Claim reminders missed for longer than the grace period (summarised, not sent one by one)."""
        return await self._claim(limit, stale=True)

    async def _claim(self, limit: int, *, stale: bool) -> list[ClaimedReminder]:
        now = self.now()
        cutoff = now - self.grace
        # BEGIN IMMEDIATE on SQLite makes the claim one atomic step among several writers.
        async with writing(self._sessions) as session:
            return await store.claim_due(
                session,
                now=now,
                lease=self._lease,
                limit=limit,
                token=str(uuid.uuid4()),
                stale_before=cutoff if stale else None,
                fresh_only_after=None if stale else cutoff,
            )

    async def mark_sent(self, reminder: ClaimedReminder) -> bool:
        """Record a delivered reminder: a one-off is finished; a recurring task's occurrence becomes
        the current one (shown overdue until done) and its next occurrence is scheduled."""
        now = self.now()
        async with writing(self._sessions) as session:
            if reminder.rule and reminder.remind_for is not None:
                zone = times.stored_zone(reminder.chat_timezone)
                occurrence = reminder.remind_for
                upcoming = recurrence.next_occurrence(
                    reminder.rule, after=max(now, occurrence), tz=zone, anchor=occurrence
                )
                return await store.complete(
                    session,
                    task_id=reminder.task_id,
                    token=reminder.claim_token,
                    remind_at=upcoming,
                    remind_for=upcoming,
                    due_at=max(occurrence, reminder.due_at) if reminder.due_at else occurrence,
                )
            return await store.complete(
                session, task_id=reminder.task_id, token=reminder.claim_token, remind_at=None, remind_for=None
            )

    async def renew(self, reminder: ClaimedReminder) -> bool:
        """Renew the lease right before sending, so a send held up by rate limits cannot outlive it and let
        another process send the same reminder; False if the claim was lost (then it must not be sent)."""
        async with writing(self._sessions) as session:
            return await store.renew(
                session, task_id=reminder.task_id, token=reminder.claim_token, until=self.now() + self._lease
            )

    @property
    def lease(self) -> timedelta:
        """How long a claim holds before another dispatcher may take the reminder."""
        return self._lease

    async def retry_later(
        self, reminder: ClaimedReminder, delay: timedelta, *, failed: bool = True, refused: bool = False
    ) -> bool:
        """Give a claimed reminder back, to be tried again after `delay` (Telegram's retry_after, backoff);
        `failed` counts towards the backoff, `refused` towards the plain-text fallback."""
        async with writing(self._sessions) as session:
            return await store.release(
                session,
                task_id=reminder.task_id,
                token=reminder.claim_token,
                retry_at=self.now() + delay,
                failed=failed,
                refused=refused,
            )

    async def chat_unreachable(self, chat_id: int) -> None:
        """The bot was blocked or removed: stop the chat's reminders (a later /start resumes them)."""
        async with writing(self._sessions) as session:
            await repository.set_chat_active(session, chat_id=chat_id, active=False)

    async def chat_migrated(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup with a new id: move its tasks there."""
        async with writing(self._sessions) as session:
            await repository.migrate_chat(session, old_id=old_id, new_id=new_id)

    async def next_wakeup(self) -> datetime | None:
        """The earliest time a reminder may become claimable."""
        async with self._sessions() as session:
            return await store.next_wakeup(session)

    async def snooze(self, chat_id: int, number: int, occurrence: datetime, until: datetime) -> Outcome:
        """Remind about this occurrence again at `until`; a recurring series is not shifted."""
        async with writing(self._sessions) as session:
            task = await repository.get_task(session, chat_id=chat_id, number=number)
            if task is None:
                raise not_found([number])
            if task.done:
                raise UserError(f"#{number} is already done.")
            chat = await repository.get_chat(session, chat_id=chat_id)
            zone = times.stored_zone(chat.timezone if chat else None)
            occurrence = _stored_occurrence(occurrence, task.remind_for, task.due_at)
            if not task.rule and task.due_at != occurrence:
                return _out_of_date(number, task.due_at, zone)
            series_next = task.remind_at if task.rule and task.remind_for != occurrence else None
            if series_next is not None and until >= series_next:
                # The series already waits for its next occurrence; a snooze past it would hide it.
                when = times.format_when(series_next, zone)
                return Outcome(f"💤 The next occurrence comes first: {when}.", series_next)
            await repository.snooze_task(
                session, chat_id=chat_id, number=number, remind_at=until, remind_for=occurrence
            )
            return Outcome(f"💤 Snoozed until {times.format_when(until, zone)}.", until)

    async def complete_occurrence(self, chat_id: int, number: int, occurrence: datetime) -> Outcome:
        """The reminder's ✅ Done: finish a one-off task, or this occurrence of a recurring one."""
        now = self.now()
        async with writing(self._sessions) as session:
            task = await repository.get_task(session, chat_id=chat_id, number=number)
            if task is None:
                raise not_found([number])
            chat = await repository.get_chat(session, chat_id=chat_id)
            zone = times.stored_zone(chat.timezone if chat else None)
            if not task.rule:
                if task.done:
                    return Outcome("☑️ Was already done.")
                if task.due_at != _stored_occurrence(occurrence, task.due_at):
                    return _out_of_date(number, task.due_at, zone)
                await repository.set_task_done(session, chat_id=chat_id, number=number, done=True, now=now)
                return Outcome("✅ Done.")
            occurrence = _stored_occurrence(occurrence, task.due_at)
            if task.due_at is not None and task.due_at > occurrence:
                return Outcome("☑️ This occurrence was already done.")
            upcoming = recurrence.next_occurrence(
                task.rule, after=max(now, occurrence), tz=zone, anchor=occurrence
            )
            await repository.set_task_due(
                session, chat_id=chat_id, number=number, due_at=upcoming, rule=task.rule
            )
            await repository.mark_occurrence_done(session, chat_id=chat_id, number=number, at=now)
            return Outcome(f"✅ Done. Next: {times.format_when(upcoming, zone)}.", upcoming)
