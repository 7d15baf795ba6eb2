"""Taskcast's entry point: `python run_bot.py` (Telegram) or `python run_bot.py --console` (terminal)."""

import sys

from bot.runtime import main

if __name__ == "__main__":
    sys.exit(main())
