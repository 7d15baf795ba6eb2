"""Places and forecasts: geocoding a chat's or a task's place, and the forecast a reminder carries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import times
from core.errors import UserError
from core.tasks import change_chat_zone
from storage import repository
from storage.engine import writing
from weather import Forecast, HourForecast, Place, WeatherClient, WeatherUnavailable

logger = logging.getLogger(__name__)

UNAVAILABLE = "The weather service is not answering right now; please try again in a minute."


@dataclass(frozen=True)
class Spot:
    """Coordinates to forecast for, with a name to show."""

    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class ReminderForecast:
    """What a reminder says about the weather: an hour's forecast, or why there is none."""

    hour: HourForecast | None
    spot: Spot | None
    reason: str | None  # "beyond", "unavailable", "no place"


class PlaceService:
    """Geocoding and forecasts for chats and tasks, on one shared WeatherClient."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        weather: WeatherClient,
        *,
        pause_after_failure: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._weather = weather
        self._pause = pause_after_failure
        self._clock = clock
        # After a failed or slow forecast, reminders skip the weather for a while instead of each
        # waiting out the budget: a burst of reminders must not queue behind a dead service.
        self._weather_down_until = 0.0

    async def find(self, name: str) -> list[Place]:
        """Places matching `name`, best first; UserError when none or the service is down."""
        try:
            places = await self._weather.geocode(name, count=5)
        except WeatherUnavailable:
            raise UserError(UNAVAILABLE) from None
        if not places:
            raise UserError(
                f"I found no place called “{name}”. Try a city name such as Berlin or Paris, Texas."
            )
        return places

    async def find_by_id(self, name: str, place_id: int) -> Place:
        """The place with this id among the matches for `name` (geocoding answers are cached)."""
        for place in await self.find(name):
            if place.id == place_id:
                return place
        raise UserError("That choice is no longer available. Send /city again.")

    async def set_chat_place(self, chat_id: int, place: Place) -> str | None:
        """Make `place` the chat's place and its zone the chat's time zone (kept if the zone is unknown);
        returns the zone set, if any. Recurring tasks keep their local time in the new zone."""
        zone = times.get_zone(place.timezone) if times.is_valid_zone(place.timezone) else None
        async with writing(self._sessions) as session:
            if zone is not None:
                await change_chat_zone(session, chat_id=chat_id, zone=zone, now=times.utc_now())
            await repository.set_chat_place(
                session,
                chat_id=chat_id,
                place_name=place.label,
                latitude=place.latitude,
                longitude=place.longitude,
                timezone=None,
            )
        return zone.key if zone else None

    async def set_chat_location(self, chat_id: int, latitude: float, longitude: float) -> str:
        """Make a shared location the chat's place (the time zone stays); returns the name shown."""
        name = f"shared location ({latitude:.3f}, {longitude:.3f})"
        async with self._sessions.begin() as session:
            await repository.set_chat_place(
                session,
                chat_id=chat_id,
                place_name=name,
                latitude=latitude,
                longitude=longitude,
                timezone=None,
            )
        return name

    async def locate_task(self, chat_id: int, number: int, place_text: str) -> str:
        """Geocode a task's own place and return how to show it; when it cannot be found the task keeps
        its text and reminders use the chat's place."""
        try:
            places = await self._weather.geocode(place_text, count=1)
        except WeatherUnavailable:
            logger.info("geocoding a task place failed; the chat's place will be used")
            return f"{place_text} (couldn't look it up now: reminders use the chat's place)"
        if not places:
            return f"{place_text} (not found: reminders use the chat's place)"
        place = places[0]
        async with self._sessions.begin() as session:
            await repository.set_task_place(
                session,
                chat_id=chat_id,
                number=number,
                place=place.label,
                latitude=place.latitude,
                longitude=place.longitude,
                timezone=place.timezone,
            )
        return place.label

    async def overview(self, spot: Spot) -> Forecast:
        """The full forecast for /weather; UserError when the service is down."""
        try:
            return await self._weather.forecast(spot.latitude, spot.longitude)
        except WeatherUnavailable:
            raise UserError(UNAVAILABLE) from None

    async def for_reminder(self, spot: Spot | None, when: datetime, *, budget: float) -> ReminderForecast:
        """The forecast at `when`, given at most `budget` seconds: a reminder never waits for the weather."""
        if spot is None:
            return ReminderForecast(None, None, "no place")
        if self._clock() < self._weather_down_until:
            return ReminderForecast(None, spot, "unavailable")
        try:
            async with asyncio.timeout(budget):
                hour = await self._weather.forecast_at(spot.latitude, spot.longitude, when)
        except (WeatherUnavailable, TimeoutError):
            self._weather_down_until = self._clock() + self._pause
            return ReminderForecast(None, spot, "unavailable")
        return ReminderForecast(hour, spot, None if hour else "beyond")
