"""Logging setup: one format, quiet HTTP libraries, and the bot token redacted from every line."""

from __future__ import annotations

import logging
import sys


class RedactingFormatter(logging.Formatter):
    """Replaces each secret in the fully formatted line, tracebacks included."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text


def configure_logging(level: str, *, secrets: list[str]) -> None:
    """Log to stderr at `level`; httpx and httpcore (which log request URLs, token included) only warn."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
