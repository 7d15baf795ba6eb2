"""The guided `/add`: title first, then a when-button or a typed when; `/cancel` leaves it."""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatType

from bot import keyboards, render
from bot.context import Context, chat_ref, message_of, reply, services


async def plain_text(update: Update, context: Context) -> None:
    """Take the next answer of a guided add; in a private chat without one, hint at /add."""
    ref = chat_ref(update)
    tasks = services(context).tasks
    if ref.user_id is None:
        return
    message = message_of(update)
    in_group = ref.kind != ChatType.PRIVATE
    if in_group and not _answers_the_bot(message, context.bot.id):
        return  # in groups only answers to the bot's questions belong to a draft, not the chatter around it
    has_draft, title = await tasks.draft_title(ref.chat_id, ref.user_id)
    if not has_draft:
        if not in_group:
            await reply(update, render.plain_text_hint())
        return
    chat = await tasks.open_chat(ref)
    text = message.text or ""
    if title is None:
        title = await tasks.set_draft_title(chat.chat_id, ref.user_id, text)
        markup = keyboards.when_choices(chat.chat_id, ref.user_id, chat.zone, tasks.now())
        await reply(update, render.ask_when(title, in_group=in_group), reply_markup=markup)
        return
    task = await tasks.finish_draft(chat, ref.user_id, text)
    await reply(update, render.task_card(task, chat.zone, "📝 Added"))


def _answers_the_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot_id


async def choose_when(update: Update, context: Context, choice: keyboards.WhenChoice) -> None:
    """A when-button of the guided add was pressed."""
    query = update.callback_query
    if query is None:
        return
    if query.from_user.id != choice.user_id:
        await query.answer("This is someone else's draft.", show_alert=True)
        return
    tasks = services(context).tasks
    chat = await tasks.chat_settings(choice.chat_id)
    task = await tasks.finish_draft(chat, choice.user_id, keyboards.WHEN_CHOICES[choice.code])
    await query.edit_message_text(render.task_card(task, chat.zone, "📝 Added"), parse_mode="HTML")
    await query.answer("Added")


async def cancel(update: Update, context: Context) -> None:
    """Leave the guided add."""
    ref = chat_ref(update)
    had = ref.user_id is not None and await services(context).tasks.cancel_draft(ref.chat_id, ref.user_id)
    await reply(update, render.cancelled(had))
