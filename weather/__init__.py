"""Weather for Taskcast's reminders, from Open-Meteo. Knows nothing of Telegram or the database."""

from weather.cache import FetchAborted, TTLCache
from weather.client import FORECAST_DAYS, USER_AGENT, WeatherClient, WeatherUnavailable
from weather.models import DayForecast, Forecast, HourForecast, Place
from weather.wmo import WMO_CODES, describe

ATTRIBUTION = "Weather data by Open-Meteo.com (CC BY 4.0)"

__all__ = [
    "ATTRIBUTION",
    "FORECAST_DAYS",
    "USER_AGENT",
    "WMO_CODES",
    "DayForecast",
    "FetchAborted",
    "Forecast",
    "HourForecast",
    "Place",
    "TTLCache",
    "WeatherClient",
    "WeatherUnavailable",
    "describe",
]
