"""Every reply's text, rendered once here as Telegram HTML with all user text escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram.constants import MessageLimit

from core import times
from core.tasks import ChatSettings, Completed, TaskService, TaskView
from core.when import WHEN_EXAMPLES

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
    what = "tasks" if include_done else "open tasks"
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
        if result.next_due is not None:
            lines.append(
                f"✅ <b>#{task.number}</b> {esc(task.title)} done for this time; "
                f"next: {esc(times.format_when(result.next_due, zone))}"
            )
        elif task.done:
            lines.append(f"☑️ <b>#{task.number}</b> {esc(task.title)} was already done.")
        else:
            lines.append(f"✅ <b>#{task.number}</b> {esc(task.title)} done.")
    return "\n".join(lines)


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


def ask_when(title: str) -> str:
    """The guided /add's second question."""
    return (
        f"⏰ When is <b>{esc(title)}</b> due? Pick one or type it "
        "(e.g. <code>friday 17:30</code>, <code>in 2 hours</code>), or /cancel."
    )


def cancelled(had_draft: bool) -> str:
    """The reply to /cancel."""
    return "Cancelled." if had_draft else "Nothing to cancel."


def plain_text_hint() -> str:
    """The reply to plain text in a private chat outside the guided flow."""
    return "To add a task send <code>/add Buy milk | tomorrow 9am</code>. /help lists everything."
