"""The task rules: what each command does to a chat's tasks, in plain values (no Telegram objects)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import recurrence, times
from core.args import AddArgs, clean_title
from core.errors import UserError
from core.when import When, WhenError, is_clear_word, parse_when
from storage import repository
from storage.engine import writing
from storage.models import Chat, Task

# A second /done on a recurring task this soon after the first, while the next occurrence is still ahead,
# is taken for a double tap rather than for completing that next occurrence early.
DOUBLE_DONE_WINDOW = timedelta(minutes=10)
WHEN_USAGE = "Try: in 30 min, today 18:00, tomorrow 9am, friday 17:30, 2026-12-24 18:00, every day 9:00."


@dataclass(frozen=True)
class ChatRef:
    """Who is talking: the chat an update came from and the user in it."""

    chat_id: int
    kind: str = "private"
    title: str | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class ChatSettings:
    """A chat's settings as stored."""

    chat_id: int
    kind: str
    timezone: str
    place_name: str | None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def zone(self) -> ZoneInfo:
        return times.stored_zone(self.timezone)

    @classmethod
    def of(cls, chat: Chat) -> ChatSettings:
        return cls(
            chat_id=chat.id,
            kind=chat.kind,
            timezone=chat.timezone,
            place_name=chat.place_name,
            latitude=chat.latitude,
            longitude=chat.longitude,
        )


@dataclass(frozen=True)
class TaskView:
    """A task as the chat sees it."""

    number: int
    title: str
    due_at: datetime | None
    rule: str | None
    place: str | None
    done: bool

    @classmethod
    def of(cls, task: Task) -> TaskView:
        return cls(
            number=task.number,
            title=task.title,
            due_at=task.due_at,
            rule=task.rule,
            place=task.place,
            done=task.done,
        )


@dataclass(frozen=True)
class Completed:
    """The result of marking a task done: for a recurring task, when its next occurrence falls."""

    task: TaskView
    next_due: datetime | None
    ahead: bool = False  # nothing changed: the current occurrence was completed ahead of time already


async def change_chat_zone(session: AsyncSession, *, chat_id: int, zone: ZoneInfo, now: datetime) -> None:
    """Set the chat's zone; fixed-time recurring tasks ("every day 9:00") keep their local time in it.

    Their next occurrence is computed again in the new zone. An overdue current occurrence stays as it is
    (only its next reminder moves), and a pending snooze keeps its instant (the series follows the new
    zone once it has gone out). Nothing moves when the zone is the same.
    """
    chat = await repository.get_chat(session, chat_id=chat_id)
    if chat is None or chat.timezone == zone.key:
        return
    await repository.set_chat_timezone(session, chat_id=chat_id, timezone=zone.key)
    for task in await repository.list_tasks(session, chat_id=chat_id, include_done=False):
        if not task.rule or recurrence.parse_rule(task.rule).is_interval:
            continue
        if task.remind_at is not None and task.remind_for is not None and task.remind_at > task.remind_for:
            continue
        upcoming = recurrence.next_occurrence(task.rule, after=now, tz=zone)
        if task.due_at is not None and task.due_at <= now:
            await repository.snooze_task(
                session, chat_id=chat_id, number=task.number, remind_at=upcoming, remind_for=upcoming
            )
        else:
            await repository.set_task_due(
                session, chat_id=chat_id, number=task.number, due_at=upcoming, rule=task.rule
            )


def not_found(numbers: Sequence[int]) -> UserError:
    """The reply for task numbers that are not this chat's."""
    listed = ", ".join(f"#{n}" for n in numbers)
    noun = "task" if len(numbers) == 1 else "tasks"
    return UserError(f"There is no {noun} {listed} in this chat. /list shows the numbers.")


class TaskService:
    """Every task operation, scoped by chat; each call is one transaction of its own."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        default_timezone: str,
        clock: Callable[[], datetime] = times.utc_now,
    ) -> None:
        self._sessions = sessions
        self._default_timezone = default_timezone
        self._clock = clock

    def now(self) -> datetime:
        """The current time (aware UTC)."""
        return self._clock()

    async def open_chat(self, ref: ChatRef) -> ChatSettings:
        """The chat's settings, creating the chat with the default zone on first contact."""
        async with writing(self._sessions) as session:
            chat = await repository.ensure_chat(
                session, chat_id=ref.chat_id, kind=ref.kind, title=ref.title, timezone=self._default_timezone
            )
            if not chat.active:  # it blocked the bot earlier and is back: its reminders resume
                await repository.set_chat_active(session, chat_id=ref.chat_id, active=True)
            return ChatSettings.of(chat)

    async def chat_settings(self, chat_id: int) -> ChatSettings:
        """A known chat's settings."""
        async with self._sessions() as session:
            chat = await repository.get_chat(session, chat_id=chat_id)
            if chat is None:
                raise UserError("This chat has no tasks yet. Send /start.")
            return ChatSettings.of(chat)

    def read_when(self, text: str, zone: ZoneInfo) -> When:
        """Parse a when-expression in the chat's zone, as a UserError on failure."""
        try:
            return parse_when(text, now=self.now(), tz=zone)
        except WhenError as exc:
            raise UserError(str(exc)) from None

    async def add(self, chat: ChatSettings, args: AddArgs, *, user_id: int | None) -> TaskView:
        """Add a task; the when-expression is read in the chat's zone."""
        when = self.read_when(args.when, chat.zone) if args.when else None
        async with writing(self._sessions) as session:
            return await self._create(session, chat.chat_id, args.title, when, args.place, user_id)

    async def _create(
        self,
        session: AsyncSession,
        chat_id: int,
        title: str,
        when: When | None,
        place: str | None,
        user_id: int | None,
    ) -> TaskView:
        task = await repository.create_task(
            session,
            chat_id=chat_id,
            title=title,
            due_at=when.due_at if when else None,
            rule=when.rule if when else None,
            place=place,
            created_by=user_id,
            now=self.now(),
        )
        return TaskView.of(task)

    async def list_tasks(self, chat_id: int, *, include_done: bool) -> list[TaskView]:
        """The chat's tasks: open ones by due time, then (with include_done) done ones."""
        async with self._sessions() as session:
            tasks = await repository.list_tasks(session, chat_id=chat_id, include_done=include_done)
            return [TaskView.of(t) for t in tasks]

    async def done(self, chat: ChatSettings, numbers: Sequence[int]) -> list[Completed]:
        """Mark tasks done, all or none; a recurring task moves to its next occurrence instead."""
        now = self.now()
        async with writing(self._sessions) as session:
            tasks = await repository.get_tasks(session, chat_id=chat.chat_id, numbers=numbers)
            found = {t.number for t in tasks}
            missing = [n for n in numbers if n not in found]
            if missing:
                raise not_found(missing)
            results: list[Completed] = []
            for number in numbers:
                task = next(t for t in tasks if t.number == number)
                view = TaskView.of(task)  # before the change, so the reply can tell "was already done"
                if task.rule and not task.done:
                    recently = task.done_at is not None and now - task.done_at < DOUBLE_DONE_WINDOW
                    if recently and task.due_at is not None and task.due_at > now:
                        # An occurrence was completed moments ago and the next is still ahead: this is a
                        # second tap, and obeying it would silently skip that next occurrence too.
                        results.append(Completed(view, task.due_at, ahead=True))
                        continue
                    anchor = task.due_at or now
                    next_due = recurrence.next_occurrence(
                        task.rule, after=max(now, anchor), tz=chat.zone, anchor=anchor
                    )
                    await repository.set_task_due(
                        session, chat_id=chat.chat_id, number=number, due_at=next_due, rule=task.rule
                    )
                    await repository.mark_occurrence_done(
                        session, chat_id=chat.chat_id, number=number, at=now
                    )
                    results.append(Completed(view, next_due))
                else:
                    await repository.set_task_done(
                        session, chat_id=chat.chat_id, number=number, done=True, now=now
                    )
                    results.append(Completed(view, None))
            return results

    async def reopen(self, chat_id: int, number: int) -> TaskView:
        """Mark a done task open again."""
        async with writing(self._sessions) as session:
            current = await repository.get_task(session, chat_id=chat_id, number=number)
            if current is None:
                raise not_found([number])
            if not current.done:
                raise UserError(
                    f"#{number} is not done, so there is nothing to reopen. /list shows open tasks."
                )
            task = await repository.set_task_done(
                session, chat_id=chat_id, number=number, done=False, now=self.now()
            )
            assert task is not None
            return TaskView.of(task)

    async def edit(self, chat_id: int, number: int, title: str) -> TaskView:
        """Give a task a new title."""
        async with writing(self._sessions) as session:
            task = await repository.set_task_title(session, chat_id=chat_id, number=number, title=title)
            if task is None:
                raise not_found([number])
            return TaskView.of(task)

    async def set_due(self, chat: ChatSettings, number: int, when_text: str) -> TaskView:
        """Set (or with `none`, clear) a task's due time."""
        when = None if is_clear_word(when_text) else self.read_when(when_text, chat.zone)
        async with writing(self._sessions) as session:
            current = await repository.get_task(session, chat_id=chat.chat_id, number=number)
            if current is None:
                raise not_found([number])
            if current.done:
                raise UserError(f"#{number} is done. Use /reopen {number} first, then /due {number} <when>.")
            task = await repository.set_task_due(
                session,
                chat_id=chat.chat_id,
                number=number,
                due_at=when.due_at if when else None,
                rule=when.rule if when else None,
            )
            if task is None:
                raise not_found([number])
            return TaskView.of(task)

    async def delete(self, chat_id: int, number: int) -> TaskView:
        """Delete a task; its number is never given out again."""
        async with writing(self._sessions) as session:
            task = await repository.get_task(session, chat_id=chat_id, number=number)
            if task is None:
                raise not_found([number])
            view = TaskView.of(task)
            await repository.delete_task(session, chat_id=chat_id, number=number)
            return view

    async def set_timezone(self, chat_id: int, name: str) -> str:
        """Set the chat's zone from an IANA name (case-insensitive); returns the canonical name."""
        try:
            zone = times.get_zone(name)
        except times.UnknownZone as exc:
            raise UserError(str(exc)) from None
        async with writing(self._sessions) as session:
            await change_chat_zone(session, chat_id=chat_id, zone=zone, now=self.now())
        return zone.key

    async def count(self, chat_id: int) -> tuple[int, int]:
        """(open, all) task counts of the chat."""
        async with self._sessions() as session:
            open_count = await repository.count_tasks(session, chat_id=chat_id, include_done=False)
            all_count = await repository.count_tasks(session, chat_id=chat_id, include_done=True)
            return open_count, all_count

    # The guided /add flow keeps its state in the database, so it survives a restart and needs no
    # in-memory conversation state.

    async def start_draft(self, chat_id: int, user_id: int) -> None:
        """Begin a guided add: the next plain message of this user in this chat is the title."""
        async with writing(self._sessions) as session:
            await repository.save_draft(session, chat_id=chat_id, user_id=user_id, title=None, now=self.now())

    async def draft_title(self, chat_id: int, user_id: int) -> tuple[bool, str | None]:
        """(whether a draft exists, its title so far)."""
        async with self._sessions() as session:
            draft = await repository.get_draft(session, chat_id=chat_id, user_id=user_id)
            return (draft is not None, draft.title if draft else None)

    async def set_draft_title(self, chat_id: int, user_id: int, text: str) -> str:
        """Store the guided flow's title."""
        title = clean_title(text, usage="Send the task's title, or /cancel.")
        async with writing(self._sessions) as session:
            await repository.save_draft(
                session, chat_id=chat_id, user_id=user_id, title=title, now=self.now()
            )
        return title

    async def finish_draft(self, chat: ChatSettings, user_id: int, when_text: str | None) -> TaskView:
        """Create the drafted task with the chosen when (None: no date) and end the flow."""
        typed = when_text is not None and not is_clear_word(when_text)
        when = self.read_when(when_text, chat.zone) if typed and when_text else None
        async with writing(self._sessions) as session:
            draft = await repository.get_draft(session, chat_id=chat.chat_id, user_id=user_id)
            if draft is None or draft.title is None:
                raise UserError("That draft is gone. Start again with /add.")
            await repository.delete_draft(session, chat_id=chat.chat_id, user_id=user_id)
            return await self._create(session, chat.chat_id, draft.title, when, None, user_id)

    async def cancel_draft(self, chat_id: int, user_id: int) -> bool:
        """End the guided flow; False when there was none."""
        async with writing(self._sessions) as session:
            return await repository.delete_draft(session, chat_id=chat_id, user_id=user_id)

    @staticmethod
    def describe_rule(rule: str | None) -> str | None:
        """Human text for a stored recurrence rule."""
        return recurrence.describe(rule) if rule else None
