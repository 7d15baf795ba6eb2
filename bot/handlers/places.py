"""Places and weather: /city, a shared location, /weather."""

from __future__ import annotations

from telegram import Message, Update

from bot import keyboards, render
from bot.context import Context, chat_ref, command_args, message_of, reply, services
from core import times
from core.errors import UserError
from core.places import Spot


async def city(update: Update, context: Context) -> None:
    """Set the chat's place and time zone from a name: `/city Berlin`; other matches come as buttons."""
    svc = services(context)
    chat = await svc.tasks.open_chat(chat_ref(update))
    name = command_args(update)
    if not name:
        await reply(update, render.place_shown(chat))
        return
    best, *others = await svc.places.find(name)
    zone = await svc.places.set_chat_place(chat.chat_id, best)
    text = render.place_set(best.label, zone, svc.tasks.now())
    if others:
        text += render.place_choices_hint()
        await reply(update, text, reply_markup=keyboards.city_choices(chat.chat_id, others))
    else:
        await reply(update, text)


async def choose_city(update: Update, context: Context, choice: keyboards.CityChoice) -> None:
    """Another match of an ambiguous /city was picked."""
    query = update.callback_query
    if query is None:
        return
    message = query.message
    rows = (
        message.reply_markup.inline_keyboard if isinstance(message, Message) and message.reply_markup else ()
    )
    label = next((b.text for row in rows for b in row if b.callback_data == query.data), None)
    if label is None:
        raise UserError("That choice is no longer available. Send /city again.")
    svc = services(context)
    place = await svc.places.find_by_id(label.split(",")[0], choice.place_id)
    zone = await svc.places.set_chat_place(choice.chat_id, place)
    await query.edit_message_text(render.place_set(place.label, zone, svc.tasks.now()), parse_mode="HTML")
    await query.answer(f"Place set to {place.label}")


async def location(update: Update, context: Context) -> None:
    """A shared location becomes the chat's place."""
    shared = message_of(update).location
    if shared is None:
        return
    svc = services(context)
    chat = await svc.tasks.open_chat(chat_ref(update))
    name = await svc.places.set_chat_location(chat.chat_id, shared.latitude, shared.longitude)
    await reply(update, render.location_set(name))


async def weather(update: Update, context: Context) -> None:
    """The forecast for the chat's place, or for a named one: `/weather Madrid`."""
    svc = services(context)
    chat = await svc.tasks.open_chat(chat_ref(update))
    name = command_args(update)
    if name:
        place = (await svc.places.find(name))[0]
        spot, zone_name = Spot(place.label, place.latitude, place.longitude), place.timezone
    else:
        if chat.latitude is None or chat.longitude is None:
            raise UserError("No place set for this chat. Use /city Berlin, or ask /weather Berlin.")
        spot = Spot(chat.place_name or "here", chat.latitude, chat.longitude)
        zone_name = chat.timezone
    forecast = await svc.places.overview(spot)
    await reply(update, render.weather(spot.name, forecast, times.get_zone(zone_name), svc.tasks.now()))
