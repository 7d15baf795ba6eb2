"""ReminderService's rules against a real (migrated) SQLite database, with an injected clock: what sending,
completing and snoozing a reminder does to its task, which reminders are fresh or stale, late, and where
their forecast is for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import times
from core.errors import UserError
from core.places import Spot
from core.reminders import ReminderService, is_late, spot_of
from core.tasks import TaskService
from storage import repository
from storage.engine import make_engine, make_sessionmaker, upgrade_database
from storage.models import Task
from storage.reminders import ClaimedReminder
from tests.dbutil import temp_sqlite_url
from tests.factories import claimed_reminder

CHAT = 100
T = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
EVERY_2_HOURS = "FREQ=HOURLY;INTERVAL=2"
DAILY_9 = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with temp_sqlite_url(tmp_path) as url:
        await upgrade_database(url)
        engine = make_engine(url)
        try:
            yield make_sessionmaker(engine)
        finally:
            await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(T)


@pytest.fixture
def service(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> ReminderService:
    return ReminderService(sessions, grace=timedelta(hours=24), clock=clock)


async def add(
    sessions: async_sessionmaker[AsyncSession],
    due_at: datetime,
    *,
    rule: str | None = None,
    chat_id: int = CHAT,
    timezone: str = "UTC",
    title: str = "Task",
) -> int:
    """Add a task due (and reminded) at `due_at`; return its number."""
    async with sessions.begin() as session:
        await repository.ensure_chat(session, chat_id=chat_id, kind="private", title=None, timezone=timezone)
        task = await repository.create_task(
            session,
            chat_id=chat_id,
            title=title,
            due_at=due_at,
            rule=rule,
            place=None,
            created_by=None,
            now=due_at - timedelta(days=1),
        )
        return task.number


async def get(sessions: async_sessionmaker[AsyncSession], number: int, chat_id: int = CHAT) -> Task:
    async with sessions() as session:
        return (
            await session.scalars(select(Task).where(Task.chat_id == chat_id, Task.number == number))
        ).one()


async def remind(service: ReminderService, clock: Clock, at: datetime) -> ClaimedReminder:
    """Let the clock reach `at`, claim the one reminder due and mark it sent."""
    clock.now = at
    [claimed] = await service.claim_fresh()
    assert await service.mark_sent(claimed)
    return claimed


# --- mark_sent ---------------------------------------------------------------------------------------------


async def test_sending_a_one_off_reminder_clears_it(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T, title="Buy milk")
    clock.now = T + timedelta(seconds=1)
    [claimed] = await service.claim_fresh()
    assert (claimed.number, claimed.title, claimed.due_at, claimed.remind_for) == (number, "Buy milk", T, T)

    assert await service.mark_sent(claimed)

    task = await get(sessions, number)
    assert (task.remind_at, task.remind_for, task.claim_token, task.claimed_until) == (None, None, None, None)
    assert (task.due_at, task.done) == (T, False)  # still open (shown overdue) until done
    assert await service.claim_fresh() == []


async def test_sending_a_recurring_reminder_keeps_the_occurrence_and_schedules_the_next(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T, rule=EVERY_2_HOURS)

    await remind(service, clock, T + timedelta(seconds=3))

    task = await get(sessions, number)
    assert task.due_at == T  # the reminded occurrence is the task's current one
    assert task.remind_at == task.remind_for == T + timedelta(hours=2)
    assert (task.done, task.rule) == (False, EVERY_2_HOURS)


async def test_a_series_reminded_late_skips_the_occurrences_already_past(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T, rule=EVERY_2_HOURS)
    await remind(service, clock, T + timedelta(hours=5))
    task = await get(sessions, number)
    assert (task.due_at, task.remind_at) == (T, T + timedelta(hours=6))  # steps from T, not from now


async def test_a_daily_series_keeps_its_local_time_across_the_dst_change(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    saturday_nine = datetime(2026, 3, 28, 9, 0, tzinfo=BERLIN)  # CET; Sunday 29 March is CEST
    number = await add(sessions, saturday_nine.astimezone(UTC), rule=DAILY_9, timezone="Europe/Berlin")
    await remind(service, clock, saturday_nine.astimezone(UTC) + timedelta(seconds=2))
    task = await get(sessions, number)
    assert task.remind_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert task.remind_at.astimezone(BERLIN).hour == 9


async def test_a_dispatcher_that_lost_its_lease_cannot_mark_the_reminder(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T)
    clock.now = T
    [stale_claim] = await service.claim_fresh()
    clock.now = T + timedelta(seconds=121)  # the 120 s lease ran out: another dispatcher claims it
    [fresh_claim] = await service.claim_fresh()
    assert fresh_claim.claim_token != stale_claim.claim_token

    assert await service.mark_sent(stale_claim) is False
    assert (await get(sessions, number)).remind_at == T
    assert await service.mark_sent(fresh_claim) is True
    assert (await get(sessions, number)).remind_at is None


# --- ✅ Done ------------------------------------------------------------------------------------------------


async def test_done_on_a_one_off_reminder_finishes_the_task_once(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T)
    await remind(service, clock, T)

    outcome = await service.complete_occurrence(CHAT, number, T)
    assert (outcome.text, outcome.next_due) == ("✅ Done.", None)
    task = await get(sessions, number)
    assert (task.done, task.done_at, task.remind_at) == (True, T, None)

    again = await service.complete_occurrence(CHAT, number, T)
    assert again.text == "☑️ Was already done."


async def test_done_on_a_recurring_reminder_completes_this_occurrence_and_schedules_the_next(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T, rule=EVERY_2_HOURS)
    await remind(service, clock, T + timedelta(seconds=1))
    clock.now = T + timedelta(minutes=5)

    outcome = await service.complete_occurrence(CHAT, number, T)

    following = T + timedelta(hours=2)
    assert outcome.text == f"✅ Done. Next: {times.format_when(following, UTC_ZONE)}."
    assert outcome.next_due == following
    task = await get(sessions, number)
    assert (task.due_at, task.remind_at, task.rule, task.done) == (following, following, EVERY_2_HOURS, False)
    # the same (old) button again does not skip another occurrence
    again = await service.complete_occurrence(CHAT, number, T)
    assert again.text == "☑️ This occurrence was already done."
    assert (await get(sessions, number)).due_at == following


async def test_buttons_name_occurrences_to_the_second_and_still_match_due_times_with_microseconds(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    # "every 2 hours" read at 12:00:00.654321 is due then plus 2 hours, microseconds and all
    precise = T.replace(microsecond=654321)
    button = T  # what the reminder's buttons carry: int(occurrence.timestamp())
    following = precise + timedelta(hours=2)
    done_now = await add(sessions, precise, rule=EVERY_2_HOURS, title="done right away")
    await remind(service, clock, precise + timedelta(seconds=1))

    outcome = await service.complete_occurrence(CHAT, done_now, button)

    assert (outcome.text, outcome.next_due) == (
        f"✅ Done. Next: {times.format_when(following, UTC_ZONE)}.",
        following,
    )
    task = await get(sessions, done_now)
    assert (task.due_at, task.remind_at) == (following, following)

    snoozed_first = await add(sessions, precise, rule=EVERY_2_HOURS, title="snoozed, then done")
    await remind(service, clock, precise + timedelta(seconds=2))
    snoozed = await service.snooze(CHAT, snoozed_first, button, precise + timedelta(minutes=11))
    assert snoozed.text.startswith("💤 Snoozed until ")
    assert (
        await get(sessions, snoozed_first)
    ).remind_for == precise  # the stored occurrence, not the rounded
    await remind(service, clock, precise + timedelta(minutes=11))
    assert (await get(sessions, snoozed_first)).remind_at == following  # the series did not move
    outcome = await service.complete_occurrence(CHAT, snoozed_first, button)
    assert outcome.next_due == following
    task = await get(sessions, snoozed_first)
    assert (task.due_at, task.remind_at) == (following, following)


async def test_done_or_snooze_on_a_task_that_is_gone_says_so(service: ReminderService) -> None:
    with pytest.raises(UserError, match="no task #7"):
        await service.complete_occurrence(CHAT, 7, T)
    with pytest.raises(UserError, match="no task #7"):
        await service.snooze(CHAT, 7, T, T + timedelta(minutes=10))


# --- 💤 snooze ----------------------------------------------------------------------------------------------


async def test_snoozing_a_one_off_reminder_brings_it_back_about_the_same_due_time(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T)
    await remind(service, clock, T)
    until = T + timedelta(minutes=10)

    outcome = await service.snooze(CHAT, number, T, until)

    assert (outcome.text, outcome.next_due) == (
        f"💤 Snoozed until {times.format_when(until, UTC_ZONE)}.",
        until,
    )
    task = await get(sessions, number)
    assert (task.remind_at, task.remind_for, task.due_at) == (until, T, T)
    clock.now = until - timedelta(seconds=1)
    assert await service.claim_fresh() == []
    clock.now = until
    [claimed] = await service.claim_fresh()
    assert claimed.remind_for == T  # the reminder says it is about the original due time


async def test_snoozing_one_occurrence_does_not_shift_the_series(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T, rule=EVERY_2_HOURS)
    await remind(service, clock, T + timedelta(seconds=1))
    until = T + timedelta(minutes=10)

    await service.snooze(CHAT, number, T, until)

    task = await get(sessions, number)
    assert (task.due_at, task.rule, task.remind_at, task.remind_for) == (T, EVERY_2_HOURS, until, T)
    # the snoozed reminder comes, and the series goes on as before
    await remind(service, clock, until)
    task = await get(sessions, number)
    assert (task.due_at, task.remind_at, task.remind_for) == (
        T,
        T + timedelta(hours=2),
        T + timedelta(hours=2),
    )


async def test_a_snooze_past_the_next_occurrence_does_not_hide_it(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T, rule=EVERY_2_HOURS)
    await remind(service, clock, T + timedelta(seconds=1))
    following = T + timedelta(hours=2)

    outcome = await service.snooze(CHAT, number, T, T + timedelta(hours=3))

    assert outcome.text == f"💤 The next occurrence comes first: {times.format_when(following, UTC_ZONE)}."
    assert outcome.next_due == following
    task = await get(sessions, number)
    assert (task.due_at, task.remind_at, task.remind_for) == (T, following, following)


async def test_a_done_task_cannot_be_snoozed(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T)
    await remind(service, clock, T)
    await service.complete_occurrence(CHAT, number, T)
    with pytest.raises(UserError, match="already done"):
        await service.snooze(CHAT, number, T, T + timedelta(minutes=10))
    assert (await get(sessions, number)).remind_at is None


# --- fresh and stale claims --------------------------------------------------------------------------------


async def test_claims_split_at_the_grace_period(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    clock.now = T
    recent = await add(sessions, T - timedelta(hours=1), title="an hour ago")
    just_fresh = await add(sessions, T - timedelta(hours=23, minutes=59), title="almost a day ago")
    stale = await add(sessions, T - timedelta(hours=25), title="over a day ago")
    await add(sessions, T + timedelta(hours=1), title="ahead")
    await add(sessions, T - timedelta(hours=30), title="elsewhere, inactive", chat_id=200)
    async with sessions.begin() as session:
        await repository.set_chat_active(session, chat_id=200, active=False)

    stale_claims = await service.claim_stale()
    fresh_claims = await service.claim_fresh()

    assert [c.number for c in stale_claims] == [stale]
    assert [c.number for c in fresh_claims] == [just_fresh, recent]  # earliest first
    # all held under a lease now; nothing else is due
    assert await service.claim_stale() == [] and await service.claim_fresh() == []


# --- is_late and spot_of -----------------------------------------------------------------------------------


def claimed(**overrides: Any) -> ClaimedReminder:
    return claimed_reminder(**{"chat_id": CHAT, "due_at": T, **overrides})


def test_a_reminder_is_late_only_more_than_a_minute_after_its_due_time() -> None:
    assert not is_late(claimed(), T)
    assert not is_late(claimed(), T + timedelta(seconds=60))
    assert is_late(claimed(), T + timedelta(seconds=61))
    assert is_late(claimed(), T + timedelta(hours=2))
    assert not is_late(claimed(remind_for=None), T + timedelta(hours=2))


def test_the_forecast_is_for_the_tasks_own_place_else_the_chats() -> None:
    chat_place = {"chat_place_name": "Berlin, Germany", "chat_latitude": 52.52, "chat_longitude": 13.41}
    task_place = {"place": "Madrid, Spain", "place_latitude": 40.42, "place_longitude": -3.7}

    assert spot_of(claimed(**chat_place, **task_place)) == Spot("Madrid, Spain", 40.42, -3.7)
    assert spot_of(claimed(**chat_place)) == Spot("Berlin, Germany", 52.52, 13.41)
    assert spot_of(claimed(**task_place)) == Spot("Madrid, Spain", 40.42, -3.7)
    # a task place that could not be geocoded (no coordinates) falls back to the chat's
    assert spot_of(claimed(**chat_place, place="Atlantis")) == Spot("Berlin, Germany", 52.52, 13.41)
    assert spot_of(claimed()) is None


def test_snooze_until_names_its_duration_and_tomorrow_is_nine_local() -> None:
    from zoneinfo import ZoneInfo

    from core.reminders import snooze_until

    now = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # Berlin springs forward on the night to the 29th
    berlin = ZoneInfo("Europe/Berlin")
    assert snooze_until("s10", now=now, zone=berlin) == now + timedelta(minutes=10)
    assert snooze_until("s60", now=now, zone=berlin) == now + timedelta(hours=1)
    # 23:30 local on the 28th: tomorrow 09:00 is already summer time (UTC+2)
    assert snooze_until("tm", now=now, zone=berlin) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


# --- snoozes come back as fresh, on-time reminders; stale buttons change nothing ---------------------------


async def test_a_snoozed_reminder_comes_back_fresh_and_not_late_even_a_day_later(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    from core.reminders import is_snoozed

    number = await add(sessions, T, title="Meeting")
    await remind(service, clock, T + timedelta(seconds=1))
    tomorrow_9 = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    await service.snooze(CHAT, number, T, tomorrow_9)

    clock.now = tomorrow_9 + timedelta(seconds=1)  # 21 h after the occurrence: within the 24 h grace
    assert await service.claim_stale() == []
    [claimed] = await service.claim_fresh()
    assert (claimed.remind_for, claimed.remind_at) == (T, tomorrow_9)
    assert not is_late(claimed, clock.now) and is_snoozed(claimed)

    # Two days later still: the snooze, not the occurrence, decides what is stale.
    await service.retry_later(claimed, timedelta(0))
    clock.now = tomorrow_9 + timedelta(hours=30)
    assert [r.number for r in await service.claim_stale()] == [number]


async def test_old_reminder_buttons_of_a_rescheduled_task_change_nothing(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    number = await add(sessions, T, title="Dentist")
    await remind(service, clock, T + timedelta(seconds=1))
    friday = T + timedelta(days=2)
    async with sessions.begin() as session:
        await repository.set_task_due(session, chat_id=CHAT, number=number, due_at=friday, rule=None)

    snoozed = await service.snooze(CHAT, number, T, T + timedelta(minutes=10))
    done = await service.complete_occurrence(CHAT, number, T)

    assert "out of date" in snoozed.text and "out of date" in done.text
    task = await get(sessions, number)
    assert (task.done, task.due_at, task.remind_at, task.remind_for) == (False, friday, friday, friday)


async def test_the_lease_is_renewed_before_sending_and_a_lost_claim_is_not_sent(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    first = await add(sessions, T, title="First")
    second = await add(sessions, T, title="Second")
    clock.now = T + timedelta(seconds=1)
    claimed = {c.number: c for c in await service.claim_fresh()}

    clock.now = T + timedelta(seconds=100)  # a slow batch: near the end of the 120 s lease
    assert await service.renew(claimed[first])
    assert (await get(sessions, first)).claimed_until == clock.now + timedelta(seconds=120)

    # The user changed the second task meanwhile: its claim is gone, so the dispatcher must not send it.
    async with sessions.begin() as session:
        await repository.set_task_due(
            session, chat_id=CHAT, number=second, due_at=T + timedelta(days=1), rule=None
        )
    assert not await service.renew(claimed[second])


# --- the task service around reminders: double /done, zone changes ------------------------------------------


async def test_a_second_done_right_after_a_reminder_does_not_skip_the_next_occurrence(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    tasks = TaskService(sessions, default_timezone="UTC", clock=clock)
    number = await add(sessions, T, rule=DAILY_9.replace("BYHOUR=9", "BYHOUR=12"))
    await remind(service, clock, T + timedelta(seconds=2))  # the 12:00 reminder went out
    settings = await tasks.chat_settings(CHAT)

    clock.now = T + timedelta(minutes=5)
    [first] = await tasks.done(settings, [number])
    [second] = await tasks.done(settings, [number])
    assert first.next_due == T + timedelta(days=1) and not first.ahead
    assert second.ahead and second.next_due == T + timedelta(days=1)
    assert (await get(sessions, number)).due_at == T + timedelta(days=1)

    # Completing the next occurrence early, well after the first /done, is allowed.
    clock.now = T + timedelta(hours=20)
    [early] = await tasks.done(settings, [number])
    assert not early.ahead and early.next_due == T + timedelta(days=2)


async def test_a_zone_change_keeps_a_pending_snooze_and_the_same_zone_changes_nothing(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    tasks = TaskService(sessions, default_timezone="UTC", clock=clock)
    number = await add(sessions, T, rule=DAILY_9, timezone="Europe/Berlin")
    clock.now = T + timedelta(seconds=1)
    [claimed] = await service.claim_fresh()
    await service.mark_sent(claimed)
    await service.snooze(CHAT, number, claimed.remind_for or T, clock.now + timedelta(hours=1))
    before = await get(sessions, number)

    await tasks.set_timezone(CHAT, "Europe/Berlin")  # same zone: nothing moves
    await tasks.set_timezone(CHAT, "Asia/Tokyo")  # new zone: the snooze keeps its instant
    after = await get(sessions, number)
    assert (after.remind_at, after.remind_for, after.due_at) == (
        before.remind_at,
        before.remind_for,
        before.due_at,
    )
