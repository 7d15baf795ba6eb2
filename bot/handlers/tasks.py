"""Task commands: /add, /list, /done, /reopen, /edit, /due, /delete."""

from __future__ import annotations

from dataclasses import replace

from telegram import ForceReply, Update
from telegram.error import BadRequest

from bot import keyboards, render
from bot.context import Context, chat_ref, command_args, reply, services
from core.args import clean_title, parse_add, parse_number, parse_numbers, split_number
from core.errors import UserError


async def add(update: Update, context: Context) -> None:
    """Add a task from `/add <title> | <when> | <place>`, or start the guided flow when bare."""
    ref = chat_ref(update)
    tasks = services(context).tasks
    chat = await tasks.open_chat(ref)
    text = command_args(update)
    if not text and ref.user_id is not None:
        await tasks.start_draft(chat.chat_id, ref.user_id)
        await reply(
            update,
            render.ask_title(),
            reply_markup=ForceReply(selective=True, input_field_placeholder="Title"),
        )
        return
    svc = services(context)
    task = await tasks.add(chat, parse_add(text), user_id=ref.user_id)
    if task.place:
        task = replace(task, place=await svc.places.locate_task(chat.chat_id, task.number, task.place))
    svc.wake_dispatcher()
    await reply(update, render.task_card(task, chat.zone, "📝 Added"))


async def list_tasks(update: Update, context: Context) -> None:
    """Show the open tasks (`/list all`: done ones too), paged."""
    args = command_args(update).lower()
    if args not in ("", "all"):
        raise UserError("Use /list for open tasks or /list all to include done ones.")
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    include_done = args == "all"
    pages = render.list_pages(
        await tasks.list_tasks(chat.chat_id, include_done=include_done),
        chat.zone,
        tasks.now(),
        include_done=include_done,
    )
    markup = keyboards.pager(chat.chat_id, 0, len(pages), include_done=include_done)
    await reply(update, pages[0], reply_markup=markup)


async def turn_page(update: Update, context: Context, page: keyboards.ListPage) -> None:
    """Show another page of a /list message."""
    query = update.callback_query
    if query is None:
        return
    tasks = services(context).tasks
    chat = await tasks.chat_settings(page.chat_id)
    pages = render.list_pages(
        await tasks.list_tasks(chat.chat_id, include_done=page.include_done),
        chat.zone,
        tasks.now(),
        include_done=page.include_done,
    )
    index = min(max(page.page, 0), len(pages) - 1)
    try:
        await query.edit_message_text(
            pages[index],
            parse_mode="HTML",
            reply_markup=keyboards.pager(chat.chat_id, index, len(pages), include_done=page.include_done),
        )
    except BadRequest as exc:
        # Pressing the page indicator re-renders the same page; Telegram refuses an identical edit.
        if "not modified" not in exc.message:
            raise
    await query.answer()


async def done(update: Update, context: Context) -> None:
    """Mark one or more tasks done: `/done 3` or `/done 1 2 5`."""
    numbers = parse_numbers(command_args(update), usage="Use: /done 3 or /done 1 2 5.")
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    await reply(update, render.completed(await tasks.done(chat, numbers), chat.zone))


async def reopen(update: Update, context: Context) -> None:
    """Mark a done task open again: `/reopen 3`."""
    number = parse_number(command_args(update), usage="Use: /reopen 3.")
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    await reply(update, render.reopened(await tasks.reopen(chat.chat_id, number), chat.zone))


async def edit(update: Update, context: Context) -> None:
    """Change a task's title: `/edit 3 New title`."""
    usage = "Use: /edit 3 New title."
    number, rest = split_number(command_args(update), usage=usage)
    title = clean_title(rest, usage=usage)
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    await reply(
        update, render.task_card(await tasks.edit(chat.chat_id, number, title), chat.zone, "✏️ Renamed")
    )


async def due(update: Update, context: Context) -> None:
    """Set or clear a task's due time: `/due 3 friday 17:30`, `/due 3 none`."""
    usage = "Use: /due 3 friday 17:30, or /due 3 none to clear it."
    number, rest = split_number(command_args(update), usage=usage)
    if not rest:
        raise UserError(f"When is #{number} due? {usage}")
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    task = await tasks.set_due(chat, number, rest)
    services(context).wake_dispatcher()
    await reply(update, render.task_card(task, chat.zone, "⏰ Due time set for"))


async def delete(update: Update, context: Context) -> None:
    """Delete a task: `/delete 3`."""
    number = parse_number(command_args(update), usage="Use: /delete 3.")
    tasks = services(context).tasks
    chat = await tasks.open_chat(chat_ref(update))
    await reply(update, render.deleted(await tasks.delete(chat.chat_id, number)))
