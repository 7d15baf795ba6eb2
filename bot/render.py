"""Every reply's text, rendered once here as Telegram HTML with all user text escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram.constants import MessageLimit

from core import recurrence, times
from core.places import ReminderForecast
from core.tasks import ChatSettings, Completed, TaskService, TaskView
from core.when import WHEN_EXAMPLES
from storage.reminders import ClaimedReminder
from weather import ATTRIBUTION, Forecast

# Each page stays well under Telegram's limit even counted in UTF-16 units before entity parsing.
PAGE_BUDGET = MessageLimit.MAX_TEXT_LENGTH - 200
PAGE_MAX_TASKS = 20

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("add", "add a task", "/add Buy milk | tomorrow 9am | Berlin"),
    ("list", "open tasks (/list all includes done ones)", "/list"),
    ("done", "mark tasks done", "/done 3  or  /done 1 2 5"),
    ("reopen", "mark a done task open again", "/reopen 3"),
    ("edit", "change a task's title", "/edit 3 Buy oat milk"),
    ("due", "set or clear a due time", "/due 3 friday 17:30  or  /due 3 none"),
    ("delete", "delete a task", "/delete 3"),
    ("tz", "set the chat's time zone", "/tz Europe/Berlin"),
    ("city", "set the chat's place (and time zone) for forecasts", "/city Berlin"),
    ("weather", "the forecast here or for a place", "/weather  or  /weather Madrid"),
    ("settings", "show this chat's settings", "/settings"),
    ("cancel", "leave the guided /add", "/cancel"),
    ("help", "this list", "/help"),
)


def esc(text: str) -> str:
    """Escape user text for HTML parse mode."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def help_text() -> str:
    """The greeting and the command list with one example each."""
    lines = [
        "👋 <b>Taskcast</b> keeps this chat's tasks and reminds you when they fall due.",
        "",
        "<b>Commands</b>",
    ]
    lines += [f"/{name} — {esc(what)}\n    <code>{esc(example)}</code>" for name, what, example in COMMANDS]
    lines += ["", "<b>When</b> can be: " + ", ".join(f"<code>{esc(w)}</code>" for w in WHEN_EXAMPLES)]
    return "\n".join(lines)


def refusal() -> str:
    """The reply to a chat that is not on the allow-list."""
    return "Sorry, this bot is private and not available in this chat."


def error(message: str) -> str:
    """A user error: what was wrong and the form that works."""
    return f"⚠️ {esc(message)}"


def something_went_wrong() -> str:
    """The one reply to an unexpected failure."""
    return "⚠️ Something went wrong on our side. It has been logged; please try again."


def unknown_command(command: str) -> str:
    """The reply to a command the bot does not know."""
    return f"⚠️ I don't know {esc(command)}. Send /help for the commands."


def _due_text(task: TaskView, zone: ZoneInfo) -> str:
    if task.due_at is None:
        return "no date"
    return times.format_when(task.due_at, zone)


def task_card(task: TaskView, zone: ZoneInfo, headline: str) -> str:
    """A task's full description under a headline ("Added", "Updated", ...)."""
    lines = [f"{headline} <b>#{task.number}</b> {esc(task.title)}", f"⏰ {esc(_due_text(task, zone))}"]
    rule = TaskService.describe_rule(task.rule)
    if rule:
        lines.append(f"🔁 {esc(rule)}")
    if task.place:
        lines.append(f"📍 {esc(task.place)}")
    return "\n".join(lines)


def task_line(task: TaskView, zone: ZoneInfo, now: datetime) -> str:
    """One line of /list."""
    mark = "✅ " if task.done else ""
    line = f"{mark}<b>#{task.number}</b> {esc(task.title)}"
    if task.due_at is not None:
        line += f" — {esc(times.format_short(task.due_at, zone, now=now))}"
        if not task.done and task.due_at < now:
            line += " ⚠️ overdue"
    if task.rule:
        line += " 🔁"
    if task.place:
        line += f" 📍 {esc(task.place)}"
    return line


def list_pages(tasks: Sequence[TaskView], zone: ZoneInfo, now: datetime, *, include_done: bool) -> list[str]:
    """/list split into pages, each under Telegram's message limit."""
    what = (
        ("task" if len(tasks) == 1 else "tasks")
        if include_done
        else "open " + ("task" if len(tasks) == 1 else "tasks")
    )
    if not tasks:
        empty = "No tasks yet." if include_done else "No open tasks. 🎉"
        return [f"{empty} Add one with <code>/add Buy milk | tomorrow 9am</code>."]
    header = f"📋 <b>{len(tasks)} {what}</b> ({esc(zone.key)})"
    pages: list[list[str]] = [[]]
    size = utf16_len(header) + 40
    for task in tasks:
        line = task_line(task, zone, now)
        cost = utf16_len(line) + 1
        if pages[-1] and (size + cost > PAGE_BUDGET or len(pages[-1]) >= PAGE_MAX_TASKS):
            pages.append([])
            size = utf16_len(header) + 40
        pages[-1].append(line)
        size += cost
    total = len(pages)
    return [
        header + (f" — page {i + 1}/{total}" if total > 1 else "") + "\n\n" + "\n".join(lines)
        for i, lines in enumerate(pages)
    ]


def completed(results: Sequence[Completed], zone: ZoneInfo) -> str:
    """The reply to /done."""
    lines = []
    for result in results:
        task = result.task
        if result.ahead and result.next_due is not None:
            lines.append(
                f"☑️ <b>#{task.number}</b> {esc(task.title)} is already done for this time; "
                f"next: {esc(times.format_when(result.next_due, zone))}"
            )
        elif result.next_due is not None:
            lines.append(
                f"✅ <b>#{task.number}</b> {esc(task.title)} done for this time; "
                f"next: {esc(times.format_when(result.next_due, zone))}"
            )
        elif task.done:
            lines.append(f"☑️ <b>#{task.number}</b> {esc(task.title)} was already done.")
        else:
            lines.append(f"✅ <b>#{task.number}</b> {esc(task.title)} done.")
    return _fit(lines)


def _fit(lines: Sequence[str]) -> str:
    """Lines joined into one message; beyond the page budget the rest is counted instead of shown."""
    text = "\n".join(lines)
    if utf16_len(text) <= PAGE_BUDGET:
        return text
    kept: list[str] = []
    size = 0
    for line in lines:
        size += utf16_len(line) + 1
        if size > PAGE_BUDGET - 40:
            break
        kept.append(line)
    return "\n".join([*kept, f"… and {len(lines) - len(kept)} more."])


def reopened(task: TaskView, zone: ZoneInfo) -> str:
    """The reply to /reopen."""
    return task_card(task, zone, "↩️ Reopened")


def deleted(task: TaskView) -> str:
    """The reply to /delete."""
    return f"🗑 Deleted <b>#{task.number}</b> {esc(task.title)}."


def _now_text(now: datetime, zone: ZoneInfo) -> str:
    return times.format_when(now.replace(second=0, microsecond=0), zone)


def timezone_set(zone_name: str, now: datetime) -> str:
    """The reply to /tz <zone>."""
    zone = times.get_zone(zone_name)
    return f"🌍 Time zone set to <b>{esc(zone_name)}</b>. It is now {esc(_now_text(now, zone))}."


def timezone_shown(chat: ChatSettings, now: datetime) -> str:
    """The reply to /tz alone."""
    return (
        f"🌍 This chat's time zone is <b>{esc(chat.timezone)}</b> "
        f"(now {esc(_now_text(now, chat.zone))}).\n"
        "Change it with <code>/tz Europe/Berlin</code> (any IANA zone name)."
    )


def settings(chat: ChatSettings, open_count: int, all_count: int, now: datetime) -> str:
    """The reply to /settings."""
    place = esc(chat.place_name) if chat.place_name else "not set"
    return "\n".join(
        [
            "⚙️ <b>Settings of this chat</b>",
            f"Time zone: <b>{esc(chat.timezone)}</b> (now {esc(_now_text(now, chat.zone))})",
            f"Place for forecasts: {place}",
            f"Tasks: {open_count} open, {all_count} in all",
            "",
            "Change the zone with <code>/tz Europe/Berlin</code>.",
        ]
    )


def ask_title() -> str:
    """The guided /add's first question."""
    return "📝 What is the task? Send its title (or /cancel)."


def ask_when(title: str, *, in_group: bool = False) -> str:
    """The guided /add's second question."""
    how = "reply to this message with it" if in_group else "type it"
    return (
        f"⏰ When is <b>{esc(title)}</b> due? Pick one or {how} "
        "(e.g. <code>friday 17:30</code>, <code>in 2 hours</code>, <code>no date</code>), or /cancel."
    )


def cancelled(had_draft: bool) -> str:
    """The reply to /cancel."""
    return "Cancelled." if had_draft else "Nothing to cancel."


def plain_text_hint() -> str:
    """The reply to plain text in a private chat outside the guided flow."""
    return "To add a task send <code>/add Buy milk | tomorrow 9am</code>. /help lists everything."


def _forecast_line(forecast: ReminderForecast) -> str:
    if forecast.reason == "no place":
        return "🌤 No place set for a forecast: <code>/city Berlin</code> sets one."
    where = f" {esc(forecast.spot.name)}:" if forecast.spot and forecast.spot.name else ""
    if forecast.reason == "beyond":
        return f"🌤{where} forecast not available yet (Open-Meteo looks 16 days ahead)."
    hour = forecast.hour
    if hour is None:
        return f"🌤{where} forecast unavailable."
    parts = [f"{hour.emoji} {esc(hour.description)}"]
    if hour.temperature_c is not None:
        parts.append(f"{hour.temperature_c:.0f} °C")
    if hour.precipitation_probability is not None:
        parts.append(f"{hour.precipitation_probability}% chance of precipitation")
    return f"📍{where} " + ", ".join(parts)


def reminder(
    item: ClaimedReminder, forecast: ReminderForecast, *, late: bool, snoozed: bool, now: datetime
) -> str:
    """A due task's reminder: title, number, due time, the forecast at the due hour."""
    zone = times.stored_zone(item.chat_timezone)
    due = item.remind_for or item.due_at or now
    lines = [f"⏰ <b>#{item.number}</b> {esc(item.title)}", f"Due {esc(times.format_when(due, zone))}"]
    if late:
        lines[-1] += f" (late: was due {esc(times.format_clock(due, zone))})"
    if snoozed:
        lines[-1] += " · 💤 snoozed"
    if item.rule:
        lines.append(f"🔁 {esc(recurrence.describe(item.rule))}")
    lines.append(_forecast_line(forecast))
    return "\n".join(lines)


def missed_summary(items: Sequence[ClaimedReminder]) -> str:
    """One message for the reminders a chat missed long ago while the bot was down."""
    zone = times.stored_zone(items[0].chat_timezone)
    noun = "reminder" if len(items) == 1 else "reminders"
    lines = [f"🕰 While I was away, {len(items)} {noun} fell due:"]
    for item in items:
        due = item.remind_for or item.due_at
        when = times.format_short(due, zone) if due else "?"
        lines.append(f"• <b>#{item.number}</b> {esc(item.title)} — was due {esc(when)}")
    return _fit(lines) + "\n/list shows them; /done marks them done."


def reminder_plain(item: ClaimedReminder, now: datetime) -> str:
    """The reminder as bare text, for when Telegram keeps refusing the formatted one."""
    zone = times.stored_zone(item.chat_timezone)
    due = item.remind_for or item.due_at or now
    text = f"⏰ #{item.number} {item.title}\nDue {times.format_when(due, zone)}"
    return text[: MessageLimit.MAX_TEXT_LENGTH // 2]


def outcome(original_html: str, result: str) -> str:
    """A reminder edited to show what its (latest) button did; an earlier result is replaced, not stacked."""
    reminder_html = original_html.split("\n\n<i>", 1)[0]
    return f"{reminder_html}\n\n<i>{esc(result)}</i>"


def place_set(label: str, zone_name: str | None, now: datetime) -> str:
    """The reply to /city (and a chosen alternative)."""
    text = f"📍 Place set to <b>{esc(label)}</b>."
    if zone_name:
        text += (
            f"\n🌍 Time zone: <b>{esc(zone_name)}</b> (now {esc(_now_text(now, times.get_zone(zone_name)))})."
        )
    return text


def place_choices_hint() -> str:
    """Shown under /city's answer when the name was ambiguous."""
    return "\nNot the one you meant? Pick another:"


def place_shown(chat: ChatSettings) -> str:
    """The reply to /city alone."""
    if chat.place_name:
        return (
            f"📍 This chat's place is <b>{esc(chat.place_name)}</b>. Change it with <code>/city Paris</code>."
        )
    return "📍 No place set yet. Set one with <code>/city Berlin</code> or share a location."


def location_set(name: str) -> str:
    """The reply to a shared location."""
    return f"📍 Place set to your {esc(name)}. Reminders will carry its forecast."


def weather(name: str, forecast: Forecast, zone: ZoneInfo, now: datetime) -> str:
    """The reply to /weather: now, the next hours and the next 3 days, with Open-Meteo's credit."""
    lines = [f"🌤 <b>Weather for {esc(name)}</b>"]
    current = forecast.current or forecast.at(now)
    if current is not None:
        temp = f", {current.temperature_c:.0f} °C" if current.temperature_c is not None else ""
        lines.append(f"Now: {current.emoji} {esc(current.description)}{temp}")
    upcoming = [h for h in forecast.hours if h.time > now][:12:3]
    if upcoming:
        lines.append("")
        for hour in upcoming:
            temp = f"{hour.temperature_c:.0f} °C" if hour.temperature_c is not None else "–"
            rain = (
                f", {hour.precipitation_probability}% 💧"
                if hour.precipitation_probability is not None
                else ""
            )
            lines.append(f"{esc(times.format_clock(hour.time, zone))} {hour.emoji} {temp}{rain}")
    today = times.to_local(now, zone).date()
    days = [d for d in forecast.days if d.date >= today][:3]
    if days:
        lines.append("")
        for day in days:
            low = f"{day.t_min:.0f}" if day.t_min is not None else "–"
            high = f"{day.t_max:.0f}" if day.t_max is not None else "–"
            rain = (
                f", {day.precipitation_probability_max}% 💧"
                if day.precipitation_probability_max is not None
                else ""
            )
            label = _WEEKDAYS[day.date.weekday()] + f" {day.date.day}"
            lines.append(f"{label}: {day.emoji} {esc(day.description)}, {low}…{high} °C{rain}")
    lines += ["", f"<i>{esc(ATTRIBUTION)}</i>"]
    return "\n".join(lines)


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
