"""`run_bot.py --console`: chat with the real handlers in a terminal.

The PTB Application is the same as on Telegram; only its transport differs: updates are made from the lines
typed, and a request backend answers the Bot API calls by printing what would be sent. Buttons are shown
numbered and pressed by typing their number.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.app import build_application
from bot.runtime import AnyApplication, dispatching, open_services
from core.settings import Settings

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Taskcast", "username": "taskcast_bot"}
PRIVATE = {"id": 1001, "type": "private", "first_name": "You"}
GROUP = {"id": -1001, "type": "group", "title": "Console group"}
USER = {"id": 1001, "is_bot": False, "first_name": "You"}
INTRO = (
    "Taskcast console: you are chatting with the bot in a private chat. Try /help.\n"
    "Type a button's number to press it; :group and :private switch chats; :quit (or Ctrl-D) leaves."
)


def html_to_text(text: str) -> str:
    """Telegram HTML as a terminal shows it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@dataclass
class ConsoleRequest(BaseRequest):
    """A Bot API backend that prints what the bot sends and remembers the buttons on screen."""

    out: TextIO
    # chat -> (msg, label, data): the buttons of the newest message that has any; a message without
    # buttons leaves them (they are still on screen, above it)
    buttons: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)
    texts: dict[tuple[int, int], str] = field(default_factory=dict)  # (chat, message) -> HTML sent
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result = self.call(api, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def call(self, api: str, params: dict[str, Any]) -> Any:
        """Answer one Bot API call as Telegram would, printing what a chat would see."""
        if api == "getMe":
            return BOT_USER
        if api in ("sendMessage", "editMessageText"):
            chat_id = int(params["chat_id"])
            message_id = int(params["message_id"]) if api == "editMessageText" else next(self._ids)
            self.show(
                chat_id,
                message_id,
                str(params["text"]),
                params.get("reply_markup"),
                edited=api != "sendMessage",
            )
            return self.message(chat_id, message_id, str(params["text"]))
        if api == "editMessageReplyMarkup":
            chat_id = int(params["chat_id"])
            self.show(chat_id, int(params["message_id"]), None, params.get("reply_markup"), edited=True)
            return True
        if api == "answerCallbackQuery" and params.get("text"):
            self.print(f"bot (notice)> {params['text']}")
        return True

    def message(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        chat = PRIVATE if chat_id == PRIVATE["id"] else GROUP
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": text,
        }

    def show(self, chat_id: int, message_id: int, text: str | None, markup: Any, *, edited: bool) -> None:
        """Print a message (or its edit) with its buttons numbered."""
        prefix = "bot (edited)> " if edited else "bot> "
        if text is not None:
            self.texts[(chat_id, message_id)] = text
            lines = html_to_text(text).splitlines() or [""]
            self.print(prefix + lines[0] + "".join("\n     " + line for line in lines[1:]))
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        buttons = [
            (message_id, b["text"], b["callback_data"]) for row in rows for b in row if "callback_data" in b
        ]
        if buttons:
            self.buttons[chat_id] = buttons
            self.print("     " + "  ".join(f"[{i}] {label}" for i, (_, label, _) in enumerate(buttons, 1)))
        elif edited and any(shown == message_id for shown, _, _ in self.buttons.get(chat_id, [])):
            del self.buttons[chat_id]  # an edit without a keyboard removes the buttons from that message

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


class ConsoleChat:
    """Turns typed lines into Telegram updates for the Application."""

    def __init__(self, request: ConsoleRequest) -> None:
        self.request = request
        self.chat: dict[str, Any] = PRIVATE
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1_000_000)

    def update_for(self, line: str) -> dict[str, Any]:
        """The update a line makes: a button press when it is the number of a button on screen."""
        buttons = self.request.buttons.get(self.chat["id"], [])
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            message_id, _, data = buttons[int(line) - 1]
            sent = self.request.texts.get((self.chat["id"], message_id), "")
            message = self.request.message(self.chat["id"], message_id, html_to_text(sent))
            query = {
                "id": str(next(self._update_ids)),
                "from": USER,
                "chat_instance": "console",
                "data": data,
            }
            return {"update_id": next(self._update_ids), "callback_query": {**query, "message": message}}
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": USER,
            "text": line,
        }
        if line.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(line.split()[0])}]
        return {"update_id": next(self._update_ids), "message": message}


async def run_console(settings: Settings, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Chat with the bot in the terminal until EOF or :quit; due reminders print as they fall due."""
    request = ConsoleRequest(stdout)
    async with open_services(settings) as services:
        application = build_application(services, request=request)
        async with application:
            await application.start()
            async with dispatching(application, services):
                await _chat(application, ConsoleChat(request), stdin, stdout)
            await application.stop()


async def _chat(application: AnyApplication, chat: ConsoleChat, stdin: TextIO, stdout: TextIO) -> None:
    loop = asyncio.get_running_loop()
    chat.request.print(INTRO)
    while True:
        if stdin.isatty():
            print("you> ", end="", file=stdout, flush=True)
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            return
        line = line.strip()
        if line in (":quit", ":q"):
            return
        if line in (":group", ":private"):
            chat.chat = GROUP if line == ":group" else PRIVATE
            chat.request.print(f"(now in the {chat.chat['type']} chat)")
        elif line:
            await application.process_update(Update.de_json(chat.update_for(line), application.bot))
