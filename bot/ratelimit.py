"""Telegram's flood limits, kept by python-telegram-bot's AIORateLimiter with tighter buckets, plus a way
for the reminder dispatcher to see a group's bucket is empty and send elsewhere instead of waiting."""

from __future__ import annotations

from telegram.ext import AIORateLimiter

# AIORateLimiter's leaky buckets let through their capacity *plus* their rate within a window: PTB's
# default (30 per 1 s) allows ~60 sends in the first second of a burst. A bucket of 5 leaking 25/s keeps
# every one-second window at 5 + 25 = 30 sends at most.
OVERALL_BURST = 5
OVERALL_BURST_PERIOD = 0.2  # seconds: 5 per 0.2 s is 25/s sustained
# Per group, for the same reason: a bucket of 10 leaking 10 per minute keeps any minute at 20 sends at most.
GROUP_BURST = 10
GROUP_BURST_PERIOD = 60.0
GROUP_SEND_INTERVAL = GROUP_BURST_PERIOD / GROUP_BURST


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter with Taskcast's buckets (at most 30 sends in any second, 20 per group in any minute)."""

    def __init__(self, *, max_retries: int = 3) -> None:
        super().__init__(
            overall_max_rate=OVERALL_BURST,
            overall_time_period=OVERALL_BURST_PERIOD,
            group_max_rate=GROUP_BURST,
            group_time_period=GROUP_BURST_PERIOD,
            max_retries=max_retries,
        )

    def group_has_room(self, chat_id: int) -> bool:
        """Whether a send to this chat would go out now rather than wait for the group's bucket."""
        if chat_id >= 0:  # private chats have no group bucket
            return True
        # AIORateLimiter keeps its group buckets behind this accessor (PTB 22, pinned below 23).
        return bool(self._get_group_limiter(chat_id).has_capacity())
