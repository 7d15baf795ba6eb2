"""Reminders end to end: the real bot ↔ real HTTP ↔ FakeTelegram and FakeOpenMeteo, on a real database.

A reminder's lateness is measured from the due time the database holds (`tasks.remind_for`) to the moment
the test sees the message at the fake Telegram. Where waiting for a real due time would take minutes (a
snooze, a recurring series), the test moves `remind_at` in the database instead, as time passing would.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import BOTH_BACKENDS, add_tasks, press_unchecked, task_lines, when_text
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.fakes.telegram_api import FakeTelegram, SentMessage

if TYPE_CHECKING:
    from tests.e2e.weather_fixtures import Inbox, TaskDB

pytest_plugins = ["tests.e2e.weather_fixtures"]

CHAT = 100
OTHER_CHAT = 200
BERLIN = (52.52437, 13.41053)
MADRID = (40.4165, -3.70256)
BUTTONS = ["✅ Done", "💤 10 min", "💤 1 h", "💤 Tomorrow 9:00"]
ON_TIME = 2.0  # seconds after its due time a reminder must have arrived


def due_line(when: datetime, zone: str) -> str:
    return f"Due {when_text(when.astimezone(ZoneInfo(zone)), zone)}"


def local_when(when: datetime, zone: str) -> str:
    return when_text(when.astimezone(ZoneInfo(zone)), zone)


def now_s() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def press(fake: FakeTelegram, message: SentMessage, label: str) -> tuple[str | None, SentMessage]:
    """Press the reminder's button; return the answer's text and the reminder as edited."""
    answer = await fake.press(message.chat_id, message.message_id, message.callback_data(label))
    return answer.text, fake.message(message.chat_id, message.message_id)


# --- on time, with the forecast ----------------------------------------------------------------------------


@BOTH_BACKENDS
async def test_a_reminder_arrives_on_time_with_the_forecast_at_its_hour_and_four_buttons(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/city Berlin")  # the chat's place and zone (Europe/Berlin)
    reply = await fake.ask(CHAT, "/add Water the plants | in 2s")
    assert "Added #1 Water the plants" in reply.text
    task = await tasks_db.task(CHAT, 1)
    due = task.remind_for
    assert due is not None and due == task.due_at == task.remind_at
    assert local_when(due, "Europe/Berlin") in reply.text  # the /add reply echoes the stored due time
    meteo.set_weather(*BERLIN, code=0, temperature=30.0, precipitation_probability=5)  # every hour
    meteo.set_weather(*BERLIN, code=61, temperature=12.3, precipitation_probability=80, at=due)  # due hour

    message, seen = await inbox.wait(CHAT, 1)

    lateness = (seen - due).total_seconds()
    assert 0 <= lateness < ON_TIME, f"the reminder came {lateness:.2f}s after its due time"
    assert message.text.splitlines() == [
        "⏰ #1 Water the plants",
        due_line(due, "Europe/Berlin"),
        "📍 Berlin, Germany: 🌦️ Slight rain, 12 °C, 80% chance of precipitation",
    ]
    assert message.button_texts == BUTTONS
    assert [p["latitude"] + "," + p["longitude"] for p in meteo.forecast_params] == ["52.52,13.41"]
    # marked sent: nothing pending any more for the one-off task, which stays open until Done
    sent = await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at is None)
    assert not sent.done and sent.claim_token is None
    assert len(inbox.reminders(CHAT)) == 1


async def test_the_tasks_own_place_beats_the_chats_and_each_chat_gets_its_own_reminder(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/city Berlin")
    reply = await fake.ask(CHAT, "/add Picnic | in 2s | Madrid")
    assert "📍 Madrid, Spain" in reply.text
    reply = await fake.ask(OTHER_CHAT, "/add Call the plumber | in 2s")  # a chat without any place
    assert "Added #1 Call the plumber" in reply.text
    picnic_due = (await tasks_db.task(CHAT, 1)).remind_for
    plumber_due = (await tasks_db.task(OTHER_CHAT, 1)).remind_for
    assert picnic_due is not None and plumber_due is not None
    meteo.set_weather(*BERLIN, code=71, temperature=-3.0, precipitation_probability=90)
    meteo.set_weather(*MADRID, code=0, temperature=24.6, precipitation_probability=10)
    requests_before = len(meteo.requests)

    picnic, seen = await inbox.wait(CHAT, 1)
    plumber, seen_other = await inbox.wait(OTHER_CHAT, 1)

    assert 0 <= (seen - picnic_due).total_seconds() < ON_TIME
    assert picnic.text.splitlines() == [
        "⏰ #1 Picnic",
        due_line(picnic_due, "Europe/Berlin"),
        "📍 Madrid, Spain: ☀️ Clear sky, 25 °C, 10% chance of precipitation",
    ]
    assert 0 <= (seen_other - plumber_due).total_seconds() < ON_TIME
    assert plumber.text.splitlines() == [
        "⏰ #1 Call the plumber",
        due_line(plumber_due, "UTC"),
        "🌤 No place set for a forecast: /city Berlin sets one.",
    ]
    assert any(e["type"] == "code" and e["length"] == len("/city Berlin") for e in plumber.entities)
    assert plumber.button_texts == picnic.button_texts == BUTTONS
    # one forecast request, for Madrid; the chat without a place asked for nothing
    assert [r.path for r in meteo.requests[requests_before:]] == ["/v1/forecast"]
    madrid = meteo.forecast_params[-1]
    assert (madrid["latitude"], madrid["longitude"]) == ("40.42", "-3.70")
    # neither chat saw the other's reminder
    assert [m.text.splitlines()[0] for m in inbox.reminders(CHAT)] == ["⏰ #1 Picnic"]
    assert [m.text.splitlines()[0] for m in inbox.reminders(OTHER_CHAT)] == ["⏰ #1 Call the plumber"]


# --- the buttons -------------------------------------------------------------------------------------------


async def test_done_marks_the_task_done_edits_the_reminder_and_answers(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/add Pay the rent | in 2s")
    message, _ = await inbox.wait(CHAT, 1)

    answer, edited = await press(fake, message, "✅ Done")

    assert answer == "✅ Done."
    assert edited.edits == 1
    assert edited.text == message.text + "\n\n✅ Done."
    task = await tasks_db.task(CHAT, 1)
    assert task.done and task.done_at is not None and task.remind_at is None
    listing = await fake.ask(CHAT, "/list all")
    [line] = task_lines(listing.text)
    assert line.startswith("✅ #1 Pay the rent — ") and "overdue" not in line
    assert "No open tasks" in (await fake.ask(CHAT, "/list")).text
    # a second press of a stale Done (a client showing the old message) says so and changes nothing
    again = await press_unchecked(fake, CHAT, message.message_id, message.callback_data("✅ Done"))
    assert again.text == "☑️ Was already done."


async def test_snoozes_move_the_reminder_and_a_snoozed_reminder_comes_again(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    zone = ZoneInfo("America/New_York")
    await fake.ask(CHAT, "/tz America/New_York")
    await add_tasks(fake, CHAT, "Call mom | in 2s", "Stretch | in 2s", "Read a chapter | in 2s")
    first = await tasks_db.task(CHAT, 1)
    reminders = [(await inbox.wait(CHAT, n))[0] for n in (1, 2, 3)]

    # 💤 10 min
    before = datetime.now(UTC)
    answer, edited = await press(fake, reminders[0], "💤 10 min")
    after = datetime.now(UTC)
    task = await tasks_db.task(CHAT, 1)
    assert task.remind_at is not None
    assert before + timedelta(minutes=10) <= task.remind_at <= after + timedelta(minutes=10)
    # about the same occurrence, the task unchanged otherwise
    assert (task.remind_for, task.due_at, task.done) == (first.due_at, first.due_at, False)
    expected = f"💤 Snoozed until {local_when(task.remind_at, 'America/New_York')}."
    assert answer == expected
    assert edited.text == reminders[0].text + "\n\n" + expected

    # 💤 1 h
    before = datetime.now(UTC)
    answer, edited = await press(fake, reminders[1], "💤 1 h")
    after = datetime.now(UTC)
    task = await tasks_db.task(CHAT, 2)
    assert task.remind_at is not None
    assert before + timedelta(hours=1) <= task.remind_at <= after + timedelta(hours=1)
    assert answer == f"💤 Snoozed until {local_when(task.remind_at, 'America/New_York')}."
    assert edited.text.endswith(answer)

    # 💤 Tomorrow 9:00 — in the chat's zone, not in UTC
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    nine_in_new_york = datetime.combine(tomorrow, time(9, 0), tzinfo=zone).astimezone(UTC)
    answer, edited = await press(fake, reminders[2], "💤 Tomorrow 9:00")
    task = await tasks_db.task(CHAT, 3)
    assert task.remind_at == nine_in_new_york
    assert task.remind_at.hour in (13, 14)  # 09:00 EDT or EST
    assert answer == f"💤 Snoozed until {local_when(nine_in_new_york, 'America/New_York')}."
    assert "09:00, America/New_York" in edited.text

    # the snoozed reminder really comes again (time moved on in the database rather than waited for)
    moved = now_s() + timedelta(seconds=1)
    await tasks_db.set_task(CHAT, 1, remind_at=moved)
    again, seen = await inbox.wait(CHAT, 1, count=2)
    assert 0 <= (seen - moved).total_seconds() < ON_TIME
    assert again.message_id != reminders[0].message_id
    first_lines = reminders[0].text.splitlines()
    # same task, same due time, marked as a snoozed reminder
    assert again.text.splitlines()[:2] == [first_lines[0], first_lines[1] + " · 💤 snoozed"]
    assert again.button_texts == BUTTONS
    assert (await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at is None)).done is False
    assert [len(inbox.reminders(CHAT, n)) for n in (1, 2, 3)] == [2, 1, 1]


# --- recurring tasks ---------------------------------------------------------------------------------------


async def test_an_interval_series_advances_and_snoozing_one_occurrence_does_not_shift_it(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    reply = await fake.ask(CHAT, "/add Drink water | every 2 hours")
    rule_line = next(line for line in reply.text.splitlines() if line.startswith("🔁"))
    rule = (await tasks_db.task(CHAT, 1)).rule
    # As if the first occurrence had come. Like every due time read from a relative expression (and so
    # every occurrence of this series) it has microseconds; the reminder's buttons name it to the second.
    occurrence = datetime.now(UTC).replace(microsecond=654321)
    await tasks_db.set_task(CHAT, 1, due_at=occurrence, remind_at=occurrence, remind_for=occurrence)
    following = occurrence + timedelta(hours=2)

    message, _ = await inbox.wait(CHAT, 1)
    assert message.text.splitlines() == [
        "⏰ #1 Drink water",
        due_line(occurrence, "UTC"),
        rule_line,
        "🌤 No place set for a forecast: /city Berlin sets one.",
    ]
    # after the reminder: the next occurrence is scheduled; the task stays open, due at this occurrence
    task = await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at != occurrence)
    assert (task.remind_at, task.remind_for, task.due_at) == (following, following, occurrence)
    assert (task.done, task.rule) == (False, rule)

    # 💤 10 min on this occurrence: the series (due_at, rule) stays as it is
    answer, _ = await press(fake, message, "💤 10 min")
    assert answer is not None and answer.startswith("💤 Snoozed until ")
    task = await tasks_db.task(CHAT, 1)
    assert (task.due_at, task.rule, task.remind_for, task.done) == (occurrence, rule, occurrence, False)
    assert task.remind_at is not None and task.remind_at < following

    # the snoozed occurrence comes again, still about the same due time ...
    await tasks_db.set_task(CHAT, 1, remind_at=now_s())
    again, _ = await inbox.wait(CHAT, 1, count=2)
    assert again.text.splitlines()[1] == due_line(occurrence, "UTC") + " · 💤 snoozed"
    # ... and then the series goes on exactly where it was
    task = await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at == following)
    assert (task.remind_for, task.due_at, task.rule) == (following, occurrence, rule)

    # ✅ Done completes this occurrence and schedules the next one
    answer, edited = await press(fake, again, "✅ Done")
    assert answer == f"✅ Done. Next: {local_when(following, 'UTC')}."
    assert edited.text.endswith(answer)
    task = await tasks_db.task(CHAT, 1)
    assert (task.due_at, task.remind_at, task.rule, task.done) == (following, following, rule, False)
    listing = await fake.ask(CHAT, "/list")
    assert [line for line in task_lines(listing.text) if "Drink water" in line and "🔁" in line]
    assert len(inbox.reminders(CHAT)) == 2


async def test_a_daily_series_moves_to_the_next_9_00_in_the_chats_zone(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    zone = ZoneInfo("Europe/Berlin")
    await fake.ask(CHAT, "/tz Europe/Berlin")
    await fake.ask(CHAT, "/add Stand-up | every day 9:00")
    rule = (await tasks_db.task(CHAT, 1)).rule
    occurrence = now_s()  # remind_at forced to now: this occurrence is due
    await tasks_db.set_task(CHAT, 1, due_at=occurrence, remind_at=occurrence, remind_for=occurrence)
    local = occurrence.astimezone(zone)
    next_nine = datetime.combine(local.date(), time(9, 0), tzinfo=zone)
    if next_nine <= occurrence:
        next_nine = datetime.combine(local.date() + timedelta(days=1), time(9, 0), tzinfo=zone)
    next_nine = next_nine.astimezone(UTC)

    message, _ = await inbox.wait(CHAT, 1)
    assert message.text.splitlines()[:2] == ["⏰ #1 Stand-up", due_line(occurrence, "Europe/Berlin")]
    task = await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at != occurrence)
    assert (task.remind_at, task.due_at, task.done, task.rule) == (next_nine, occurrence, False, rule)

    answer, _ = await press(fake, message, "✅ Done")
    assert answer == f"✅ Done. Next: {local_when(next_nine, 'Europe/Berlin')}."
    task = await tasks_db.task(CHAT, 1)
    assert (task.due_at, task.remind_at, task.done, task.rule) == (next_nine, next_nine, False, rule)


# --- chat identity, and /done -----------------------------------------------------------------------------


async def test_a_forged_reminder_button_naming_another_chat_is_refused(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB
) -> None:
    await fake.ask(CHAT, "/add Secret plan | in 1 hour")
    victim = await tasks_db.task(CHAT, 1)
    assert victim.remind_for is not None
    epoch = int(victim.remind_for.timestamp())
    own = await fake.ask(OTHER_CHAT, "/start")

    for action in ("d", "s10", "tm"):
        answer = await press_unchecked(fake, OTHER_CHAT, own.message_id, f"r:{CHAT}:1:{epoch}:{action}")
        assert answer.text == "This button is no longer valid."
        assert answer.show_alert

    after = await tasks_db.task(CHAT, 1)
    assert (after.done, after.remind_at, after.remind_for) == (False, victim.remind_at, victim.remind_for)
    assert fake.message(OTHER_CHAT, own.message_id).edits == 0
    assert fake.messages(CHAT)[-1].text.startswith("📝 Added #1")  # nothing was sent to the victim


async def test_done_by_command_stops_a_pending_reminder(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await add_tasks(fake, CHAT, "Take out the trash | in 2s", "Feed the cat | in 2s")
    reply = await fake.ask(CHAT, "/done 1")
    assert "#1 Take out the trash done" in reply.text
    assert (await tasks_db.task(CHAT, 1)).remind_at is None

    await inbox.wait(CHAT, 2)  # the other one, due at the same time, arrives ...
    await fake.expect_no_message(CHAT, within=1.2)  # ... and nothing more (the dispatcher polls each 1 s)
    assert inbox.reminders(CHAT, 1) == []
    assert not [c for c in fake.calls_to("sendMessage") if str(c.get("text", "")).startswith("⏰ <b>#1</b>")]
