"""Taskcast's settings, read once from the environment or `.env` and validated; nothing else reads them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core import times

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class Settings(BaseSettings):
    """Every setting Taskcast reads; see `.env.example` for each one's meaning."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = "sqlite+aiosqlite:///./taskcast.db"
    weather_api_url: str = "https://api.open-meteo.com/v1/forecast"
    geocoding_api_url: str = "https://geocoding-api.open-meteo.com/v1/search"
    default_timezone: str = "UTC"
    allowed_chat_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    log_level: str = "INFO"
    reminder_grace_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    reminder_poll_seconds: float = Field(default=1.0, ge=0.1, le=60)

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        value = value.strip()
        if value and (":" not in value or any(c.isspace() for c in value)):
            raise ValueError("must look like 123456:ABC-DEF… as BotFather gives it")
        return value

    @field_validator("telegram_api_base_url", "weather_api_url", "geocoding_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        # The zones the bot itself accepts (not "Factory", "localtime"…), under their canonical names.
        if not times.is_valid_zone(value):
            raise ValueError(f"{value.strip()!r} is not an IANA time zone such as Europe/Berlin")
        return times.get_zone(value).key

    @field_validator("allowed_chat_ids", mode="before")
    @classmethod
    def _chat_ids(cls, value: object) -> frozenset[int]:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("must be comma-separated chat ids such as 12345,-1001234567890") from None
        if isinstance(value, (set, frozenset, list, tuple)):
            return frozenset(int(v) for v in value)
        raise ValueError("must be comma-separated chat ids")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value

    def chat_allowed(self, chat_id: int) -> bool:
        """Whether this chat may use the bot (an empty allow-list admits everyone)."""
        return not self.allowed_chat_ids or chat_id in self.allowed_chat_ids


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one line that names the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"setting {name}: {msg}") from None
