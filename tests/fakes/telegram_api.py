"""A local fake of the Telegram Bot API, served over real HTTP, for end-to-end tests of the real PTB bot.

The bot under test is a real `telegram.ext.Application` built with `base_url=fake.base_url` and
`token=fake.token`. The fake keeps the server side of the conversation: the update queue that
getUpdates long-polls, the chats, every message the bot sent (with its edits), and the callback queries.
Test code injects user actions (`send_message`, `press_button`, ...) and observes the bot through
`messages`, `calls` and the async waiting helpers (`ask`, `press`, `wait_for_message`, ...).

Responses and error descriptions follow the real Bot API; the HTML parser follows TDLib's `parse_html`
(same error messages and byte offsets). Deliberate differences are documented where they are.
"""

# The waiting helpers take `timeout` like the rest of the test API, rather than asyncio.timeout().
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from tests.fakes.http_server import FakeHTTPServer, Request, Response

DEFAULT_TOKEN = "123456:TEST-token"
DEFAULT_GROUP_USER_ID = 1001
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200
CALLBACK_QUERY_TTL = 15.0

UPDATE_TYPES = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
    "message_reaction",
    "message_reaction_count",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "purchased_paid_media",
]
# Without allowed_updates the server delivers everything but these (Bot API docs, getUpdates).
DEFAULT_ALLOWED_UPDATES = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)

# The server keeps the first of these a button has, in this order, and ignores the rest.
INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "web_app",
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


# --------------------------------------------------------------------------------------------------------
# Errors


class ApiError(Exception):
    """An error answer of the Bot API: `{"ok": false, "error_code": ..., "description": ...}`."""

    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def response(self) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return Response(self.error_code, body)


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class HtmlParseError(ValueError):
    """The HTML in a text could not be parsed; the message is TDLib's."""


# --------------------------------------------------------------------------------------------------------
# HTML parse mode (a port of TDLib's parse_html)

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_SUPPORTED_TAGS = frozenset(_ENTITY_TYPES) | {"blockquote"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\v\f"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's text limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(source: str, pos: int, *, strict: bool) -> tuple[str, int] | None:
    """Decode the character reference at `source[pos] == "&"` → (character, end) or None if it is none."""
    end = pos + 1
    if source[end : end + 1] == "#":
        end += 1
        hexadecimal = source[end : end + 1] in ("x", "X")
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < len(source) and source[end] in digits:
            end += 1
        if start == end:
            return None
        code = int(source[start:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        start = end
        while end < len(source) and source[end].isascii() and source[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(source[start:end])
        if named is None:
            return None
        char = named
    if source[end : end + 1] == ";":
        return char, end + 1
    # TDLib accepts a missing semicolon; strict mode treats "&lt" in text as an escaping bug.
    return None if strict else (char, end)


def parse_html(source: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram's HTML subset → (plain text, entities with UTF-16 offsets), or raise HtmlParseError.

    Mirrors TDLib, including its error wording and byte offsets. One deliberate difference when
    `strict`: a `&` that does not start `&lt;`, `&gt;`, `&amp;`, `&quot;` or a numeric reference (with
    its `;`) is rejected, where Telegram would show it verbatim; that almost always means text was
    not escaped (and `&lt` in user text would silently turn into `<`).
    """
    n = len(source)
    out: list[str] = []
    offset = 0  # UTF-16 offset in the output
    stack: list[tuple[str, str, int, bool]] = []  # (tag, argument, start offset, expandable)
    entities: list[dict[str, Any]] = []

    def char(j: int) -> str:
        return source[j] if j < n else ""

    def byte_offset(j: int) -> int:
        return len(source[:j].encode())

    def is_space(c: str) -> bool:
        return c != "" and c in _SPACES

    i = 0
    while i < n:
        c = source[i]
        if c == "&":
            decoded = _decode_entity(source, i, strict=strict)
            if decoded is not None:
                out.append(decoded[0])
                offset += utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict:
                raise HtmlParseError(f'Unescaped "&" at byte offset {byte_offset(i)} (strict_html)')
        if c != "<":
            out.append(c)
            offset += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if char(i) != "/":
            while char(i) and not is_space(char(i)) and char(i) != ">":
                i += 1
            if not char(i):
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = source[begin + 1 : i].lower()
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            argument, expandable = "", False
            while char(i) != ">":
                while is_space(char(i)):
                    i += 1
                if char(i) == ">":
                    break
                attr_begin = i
                while char(i) and not is_space(char(i)) and char(i) not in "=>":
                    i += 1
                attribute = source[attr_begin:i].lower()
                if not attribute:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                while is_space(char(i)):
                    i += 1
                if char(i) != "=":
                    if tag == "blockquote" and attribute == "expandable":
                        expandable = True
                        continue
                    raise HtmlParseError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"at byte offset {byte_offset(begin)}"
                    )
                i += 1
                while is_space(char(i)):
                    i += 1
                if not char(i):
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if char(i) not in "'\"":
                    token_begin = i
                    while char(i) and ((char(i).isascii() and char(i).isalnum()) or char(i) in ".-"):
                        i += 1
                    value = source[token_begin:i].lower()
                    if not is_space(char(i)) and char(i) != ">":
                        raise HtmlParseError(
                            f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                        )
                else:
                    quote = char(i)
                    i += 1
                    chars: list[str] = []
                    while char(i) and char(i) != quote:
                        if char(i) == "&":
                            decoded = _decode_entity(source, i, strict=False)
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        chars.append(char(i))
                        i += 1
                    value = "".join(chars)
                    if char(i) == quote:
                        i += 1
                if not char(i):
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value.removeprefix("language-")
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value.removeprefix("tg-")
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            stack.append((tag, argument, offset, expandable))
            i += 1  # the ">"
            continue

        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1
        name_begin = i
        while char(i) and not is_space(char(i)) and char(i) != ">":
            i += 1
        end_name = source[name_begin:i].lower()
        while is_space(char(i)):
            i += 1
        if char(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        tag, argument, start, expandable = stack.pop()
        if end_name and end_name != tag:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        i += 1
        if offset > start:
            entity = _make_entity(tag, argument, expandable, start, offset - start, "".join(out))
            if entity is not None:
                entities.append(entity)

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), _merge_pre_code(entities)


def _make_entity(
    tag: str, argument: str, expandable: bool, offset: int, length: int, text_so_far: str
) -> dict[str, Any] | None:
    if tag == "blockquote":
        return {
            "type": "expandable_blockquote" if expandable else "blockquote",
            "offset": offset,
            "length": length,
        }
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[tag], "offset": offset, "length": length}
    if tag == "a":
        # Without href TDLib links the text itself.
        url = argument or text_so_far.encode("utf-16-le")[offset * 2 :].decode("utf-16-le")
        if url.startswith("tg://user?id="):
            return {"type": "text_mention", "offset": offset, "length": length, "user": _mention(url)}
        entity["url"] = url
    elif tag == "code" and argument:
        entity["language"] = argument
    elif tag == "tg-emoji":
        if not argument:
            return None
        entity["custom_emoji_id"] = argument
    return entity


def _mention(url: str) -> dict[str, Any]:
    raw = url.removeprefix("tg://user?id=")
    user_id = int(raw) if raw.isdigit() else 0
    return {"id": user_id, "is_bot": False, "first_name": str(user_id)}


def _merge_pre_code(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`<pre><code class="language-x">` becomes one pre entity with a language, as in TDLib."""
    pres = {(e["offset"], e["length"]): e for e in entities if e["type"] == "pre"}
    merged: list[dict[str, Any]] = []
    for entity in entities:
        pre = pres.get((entity["offset"], entity["length"]))
        if entity["type"] == "code" and pre is not None:
            if "language" in entity:
                pre["language"] = entity["language"]
            continue
        merged.append(entity)
    return sorted(merged, key=lambda e: (e["offset"], -e["length"]))


_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entities the server computes for a user's text."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group()),
        }
        for m in _COMMAND.finditer(text)
    ]


# --------------------------------------------------------------------------------------------------------
# What tests observe


@dataclass(frozen=True)
class SentMessage:
    """A snapshot of a message the bot sent, in its latest edited state."""

    message_id: int
    chat_id: int
    text: str
    html: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    entities: tuple[dict[str, Any], ...] = ()
    edits: int = 0
    deleted: bool = False
    reply_to_message_id: int | None = None

    def buttons(self) -> list[list[tuple[str, str]]]:
        """Inline keyboard rows as (text, callback_data); URL buttons give their URL instead."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b["text"], b.get("callback_data") or b.get("url") or "") for b in row] for row in rows]

    @property
    def button_texts(self) -> list[str]:
        """All inline button labels, row by row."""
        return [text for row in self.buttons() for text, _ in row]

    def callback_data(self, label: str) -> str:
        """The callback_data of the inline button labelled `label` (exact or unique substring match)."""
        pairs = [pair for row in self.buttons() for pair in row]
        exact = [data for text, data in pairs if text == label]
        found = exact or [data for text, data in pairs if label in text]
        if len(found) != 1:
            raise AssertionError(f"no unique button {label!r} in {[t for t, _ in pairs]}")
        return found[0]


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery the bot made."""

    query_id: str
    chat_id: int | None
    message_id: int | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class _Record:
    message_id: int
    chat_id: int
    json: dict[str, Any]
    html: str
    parse_mode: str | None
    edits: int = 0
    deleted: bool = False

    def snapshot(self) -> SentMessage:
        reply_to = self.json.get("reply_to_message")
        return SentMessage(
            message_id=self.message_id,
            chat_id=self.chat_id,
            text=self.json.get("text", ""),
            html=self.html,
            parse_mode=self.parse_mode,
            reply_markup=copy.deepcopy(self.json.get("reply_markup")),
            entities=tuple(copy.deepcopy(self.json.get("entities", []))),
            edits=self.edits,
            deleted=self.deleted,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
        )


@dataclass
class _Query:
    chat_id: int
    message_id: int
    created: float
    answered: bool = False


@dataclass
class _Fault:
    method: str
    error: ApiError | None
    times: int
    chat_id: str | None
    delay: float = 0.0


# --------------------------------------------------------------------------------------------------------
# Parameter decoding: PTB posts form fields with complex values as JSON strings and scalars as strings.


def _int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"wrong parameter {name} in request") from None


def _bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _json(params: dict[str, Any], name: str, error: str | None = None) -> Any:
    value = params.get(name)
    if not isinstance(value, str):
        return value
    if value == "":
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(error or f"can't parse {name} JSON object") from None


def _is_bot_send(method: str) -> bool:
    return method.startswith(("send", "edit", "copy", "forward"))


# --------------------------------------------------------------------------------------------------------
# The fake


class FakeTelegram:
    """The Telegram Bot API for one bot, on 127.0.0.1. Thread-safe; use as a context manager."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_first_name: str = "Taskcast",
        bot_username: str = "taskcast_bot",
        strict_html: bool = True,
    ) -> None:
        self.token = token
        self.strict_html = strict_html
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._cond = threading.Condition(threading.RLock())
        self._server = FakeHTTPServer(self._handle)
        self.base_url = f"{self._server.url}/bot"
        self._started = self._stopped = False

        self._poll_generation = 0
        self.reset()
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "sendChatAction": self._send_chat_action,
            }.items()
        }

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        if not self._started:
            self._started = True
            self._server.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()  # release long-polls so server threads end
        if self._started:
            self._server.stop()
            self._started = False

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget all state (chats, messages, updates, calls, faults): one server can serve many tests."""
        with self._cond:
            self._poll_generation += 1  # a long-poll left from before ends
            self._update_ids = itertools.count(1)
            self._updates: deque[dict[str, Any]] = deque()
            self._allowed_updates = DEFAULT_ALLOWED_UPDATES
            self._chats: dict[int, dict[str, Any]] = {}
            self._users: dict[int, dict[str, Any]] = {}
            self._member_status: dict[tuple[int, int], str] = {}
            self._message_ids: dict[int, int] = {}
            self._all_messages: dict[tuple[int, int], dict[str, Any]] = {}
            self._sent: dict[int, list[_Record]] = {}
            self._query_ids = itertools.count(4_000_000_000_000_000_001)
            self._queries: dict[str, _Query] = {}
            self._callback_answers: list[CallbackAnswer] = []
            self._calls: list[tuple[str, dict[str, Any]]] = []
            self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
            self._faults: list[_Fault] = []
            self._blocked: set[int] = set()
            self._migrated: dict[int, int] = {}
            self._rate_per_second: float | None = None
            self._recent_sends: deque[float] = deque()
            self._custom: dict[str, Callable[[dict[str, Any]], Any]] = {}
            self._cond.notify_all()

    # --- HTTP dispatch -------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)/?", request.path)
        if match is None:
            return ApiError(404, "Not Found").response()
        token, requested = match.groups()
        if token != self.token:
            return ApiError(401, "Unauthorized").response()
        entry = self._methods.get(requested.lower())
        custom = self._custom.get(requested.lower())
        if entry is None and custom is None:
            return ApiError(404, "Not Found").response()
        method = entry[0] if entry else requested
        params = dict(request.params)
        with self._cond:
            self._calls.append((method, params))
            self._cond.notify_all()
            fault = self._take_fault(method, params)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        try:
            if fault is not None and fault.error is not None:
                raise fault.error
            with self._cond:
                if _is_bot_send(method):
                    self._check_rate()
                result = custom(params) if custom else entry[1](params)  # type: ignore[index]
                self._cond.notify_all()
        except ApiError as error:
            return error.response()
        except Exception as exc:  # a bug in the fake: answer rather than drop the connection
            return ApiError(500, f"Internal Server Error: fake failed: {exc!r}").response()
        return Response(200, {"ok": True, "result": result})

    # --- Bot API methods -----------------------------------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot_user)

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params, "offset", 0) or 0
        limit = min(max(_int(params, "limit", 100) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = _json(params, "allowed_updates")
        deadline = time.monotonic() + timeout
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # an older long-poll now ends with 409, as on the real server
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        while not self._updates and not self._stopped:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_GET_UPDATES)
        return copy.deepcopy(list(itertools.islice(self._updates, limit)))

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._resolve_chat(params)
        self._check_deliverable(chat_id)
        text, entities, parse_mode = self._formatted_text(params, too_long="message is too long")
        markup = self._reply_markup(params)
        reply_to = self._reply_target(chat_id, params)
        sender = {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}
        message = self._base_message(chat_id, sender)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # only inline keyboards are part of a message
        record = _Record(message["message_id"], chat_id, message, str(params.get("text")), parse_mode)
        self._sent.setdefault(chat_id, []).append(record)
        self._all_messages[(chat_id, record.message_id)] = message
        return copy.deepcopy(message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._editable(params)
        text, entities, parse_mode = self._formatted_text(params, too_long="MESSAGE_TOO_LONG")
        markup = self._reply_markup(params, inline_only=True)
        if (
            record.json.get("text") == text
            and record.json.get("entities", []) == entities
            and record.json.get("reply_markup") == markup
        ):
            raise bad_request(NOT_MODIFIED)
        record.json["text"] = text
        self._set_optional(record.json, "entities", entities or None)
        # Like the real API: an edit without reply_markup removes the inline keyboard.
        self._set_optional(record.json, "reply_markup", markup)
        record.html, record.parse_mode = str(params.get("text")), parse_mode
        return self._edited(record)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._editable(params)
        markup = self._reply_markup(params, inline_only=True)
        if record.json.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        self._set_optional(record.json, "reply_markup", markup)
        return self._edited(record)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._resolve_chat(params)
        message_id = _int(params, "message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        if (chat_id, message_id) not in self._all_messages:
            raise bad_request("message to delete not found")
        del self._all_messages[(chat_id, message_id)]
        for record in self._sent.get(chat_id, []):
            if record.message_id == message_id:
                record.deleted = True
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._queries.get(query_id)
        if query is None or query.answered or time.monotonic() - query.created > CALLBACK_QUERY_TTL:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text") or None
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self._callback_answers.append(
            CallbackAnswer(
                query_id=query_id,
                chat_id=query.chat_id,
                message_id=query.message_id,
                text=text,
                show_alert=_bool(params, "show_alert"),
                url=params.get("url") or None,
                cache_time=_int(params, "cache_time", 0) or 0,
            )
        )
        return True

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = _json(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request('field "commands" must be an Array of BotCommand')
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("BotCommand must be an Object")
            command = str(item.get("command", "")).removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        self._commands[self._commands_key(params)] = cleaned
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = dict(self._chats[self._resolve_chat(params)])
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return chat

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._resolve_chat(params)
        user_id = _int(params, "user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        user = self.bot_user if user_id == self.bot_user["id"] else self._users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        status = self._member_status.get((chat_id, user_id), "member")
        member: dict[str, Any] = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(dict.fromkeys(_ADMIN_RIGHTS, True), can_be_edited=False, is_anonymous=False)
        elif status == "restricted":
            member.update(dict.fromkeys(_RESTRICTED_RIGHTS, False), is_member=True, until_date=0)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat_id = self._resolve_chat(params)
        self._check_deliverable(chat_id)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # --- method helpers (called with the lock held) --------------------------------------------------

    def _resolve_chat(self, params: dict[str, Any]) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for chat_id, chat in self._chats.items():
                if str(chat.get("username", "")).lower() == raw[1:].lower():
                    return chat_id
            raise bad_request("chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat_id not in self._chats and chat_id not in self._migrated:
            raise bad_request("chat not found")
        return chat_id

    def _check_deliverable(self, chat_id: int) -> None:
        if chat_id in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._blocked:
            raise ApiError(403, _blocked_description(self._chats[chat_id]["type"]))

    def _check_rate(self) -> None:
        if self._rate_per_second is None:
            return
        now = time.monotonic()
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        if len(self._recent_sends) >= self._rate_per_second:
            retry_after = max(1, math.ceil(1.0 - (now - self._recent_sends[0])))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        self._recent_sends.append(now)

    def _formatted_text(
        self, params: dict[str, Any], *, too_long: str
    ) -> tuple[str, list[dict[str, Any]], str | None]:
        source = params.get("text")
        if not source:
            raise bad_request("message text is empty")
        source = str(source)
        parse_mode = params.get("parse_mode") or None
        entities: list[dict[str, Any]] = []
        if parse_mode is None:
            text = source
            given = _json(params, "entities", "can't parse entities JSON object")
            if isinstance(given, list):
                entities = given
        elif parse_mode.lower() == "html":
            try:
                text, entities = parse_html(source, strict=self.strict_html)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif parse_mode.lower() in ("markdown", "markdownv2"):
            text = source  # Markdown is not modelled: the text is kept as sent.
        else:
            raise bad_request("unsupported parse_mode")
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad_request(too_long)
        return text, entities, parse_mode

    def _reply_markup(self, params: dict[str, Any], *, inline_only: bool = False) -> dict[str, Any] | None:
        markup = _json(params, "reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("object expected as reply markup")
        if "inline_keyboard" in markup:
            return {"inline_keyboard": _inline_keyboard(markup["inline_keyboard"])}
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            return markup
        if "remove_keyboard" in markup or "hide_keyboard" in markup or "force_reply" in markup:
            return markup
        return None

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = _json(params, "reply_parameters", "can't parse reply parameters JSON object")
        message_id, allow_missing = _int(params, "reply_to_message_id"), False
        if isinstance(reply, dict):
            message_id = int(reply.get("message_id", 0))
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        allow_missing = allow_missing or _bool(params, "allow_sending_without_reply")
        if message_id is None:
            return None
        target = self._all_messages.get((chat_id, message_id))
        if target is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        target = copy.deepcopy(target)
        target.pop("reply_to_message", None)
        return target

    def _editable(self, params: dict[str, Any]) -> _Record:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not modelled
        chat_id = self._resolve_chat(params)
        self._check_deliverable(chat_id)
        message_id = _int(params, "message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        for record in self._sent.get(chat_id, []):
            if record.message_id == message_id and not record.deleted:
                return record
        if (chat_id, message_id) in self._all_messages:
            raise bad_request("message can't be edited")
        raise bad_request("message to edit not found")

    def _edited(self, record: _Record) -> dict[str, Any]:
        record.edits += 1
        record.json["edit_date"] = int(time.time())
        return copy.deepcopy(record.json)

    @staticmethod
    def _set_optional(target: dict[str, Any], key: str, value: Any) -> None:
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = _json(params, "scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method.lower() != method.lower():
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _base_message(self, chat_id: int, sender: dict[str, Any]) -> dict[str, Any]:
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        return {
            "message_id": message_id,
            "from": dict(sender),
            "chat": dict(self._chats[chat_id]),
            "date": int(time.time()),
        }

    # --- registering chats and users -----------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        type: str = "private",
        title: str | None = None,
        *,
        first_name: str = "Alice",
        username: str | None = None,
    ) -> dict[str, Any]:
        """Register a chat the bot can talk to (injected messages register theirs automatically)."""
        with self._cond:
            return dict(self._ensure_chat(chat_id, type, title, first_name, username))

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Set what getChatMember reports: creator, administrator, member, restricted, left or kicked."""
        with self._cond:
            if user_id != self.bot_user["id"]:
                self._ensure_user(user_id, "User", None)
            self._member_status[(chat_id, user_id)] = status

    def _ensure_chat(
        self, chat_id: int, chat_type: str, title: str | None, first_name: str, username: str | None
    ) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = first_name
                if username:
                    chat["username"] = username
            else:
                chat["title"] = title or f"Chat {chat_id}"
            self._chats[chat_id] = chat
        return chat

    def _ensure_user(self, user_id: int, first_name: str, username: str | None) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
            if username:
                user["username"] = username
            self._users[user_id] = user
        return user

    # --- injecting what users do ---------------------------------------------------------------------

    def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        first_name: str = "Alice",
        username: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """A user sends `text` to the bot; returns the message (with bot_command entities)."""
        with self._cond:
            message = self._user_message(
                chat_id, user_id, chat_type, chat_title, first_name, username, reply_to_message_id
            )
            message["text"] = text
            entities = command_entities(text)
            if entities:
                message["entities"] = entities
            self._push_update("message", message)
            return copy.deepcopy(message)

    def send_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Alice",
    ) -> dict[str, Any]:
        """A user shares a location with the bot; returns the message."""
        with self._cond:
            message = self._user_message(chat_id, user_id, chat_type, None, first_name, None, None)
            message["location"] = {"latitude": latitude, "longitude": longitude}
            self._push_update("message", message)
            return copy.deepcopy(message)

    def press_button(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None, check: bool = True
    ) -> str:
        """A user presses the inline button with `data` under a bot message; returns the query id.

        With `check` the button must be on the message as it is now (a client cannot press others).
        """
        with self._cond:
            record = next(
                (r for r in self._sent.get(chat_id, []) if r.message_id == message_id and not r.deleted),
                None,
            )
            if record is None:
                raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
            if check:
                available = [d for row in record.snapshot().buttons() for _, d in row]
                if data not in available:
                    raise ValueError(f"message {message_id} has no button {data!r}; it has {available}")
            chat = self._chats[chat_id]
            sender = self._ensure_user(self._default_user_id(chat, user_id), "Alice", None)
            query_id = str(next(self._query_ids))
            query = {
                "id": query_id,
                "from": dict(sender),
                "message": copy.deepcopy(record.json),
                "chat_instance": str(abs(chat_id) * 7919 % 10**18),
                "data": data,
            }
            self._queries[query_id] = _Query(chat_id, message_id, time.monotonic())
            self._push_update("callback_query", query)
            return query_id

    def send_raw_update(self, update: dict[str, Any]) -> int:
        """Queue any update as is (an update_id is assigned if missing); returns its update_id."""
        with self._cond:
            update = copy.deepcopy(update)
            for value in update.values():
                chat = value.get("chat") if isinstance(value, dict) else None
                if isinstance(chat, dict) and "id" in chat:
                    self._chats.setdefault(chat["id"], chat)
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            kind = next((k for k in update if k != "update_id"), "")
            if kind in self._allowed_updates:
                self._updates.append(update)
                self._cond.notify_all()
            return int(update["update_id"])

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str,
        chat_title: str | None,
        first_name: str,
        username: str | None,
        reply_to_message_id: int | None,
    ) -> dict[str, Any]:
        chat = self._ensure_chat(chat_id, chat_type, chat_title, first_name, username)
        uid = self._default_user_id(chat, user_id)
        sender = self._ensure_user(uid, first_name, username)
        message = self._base_message(chat_id, sender)
        if reply_to_message_id is not None:
            target = self._all_messages.get((chat_id, reply_to_message_id))
            if target is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
            message["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        self._all_messages[(chat_id, message["message_id"])] = message
        return message

    @staticmethod
    def _default_user_id(chat: dict[str, Any], user_id: int | None) -> int:
        if chat["type"] == "private":
            if user_id is not None and user_id != chat["id"]:
                raise ValueError("in a private chat the user id is the chat id")
            return int(chat["id"])
        return user_id if user_id is not None else DEFAULT_GROUP_USER_ID

    def _push_update(self, kind: str, payload: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        if kind in self._allowed_updates:  # the server does not even store the others
            self._updates.append(update)
        self._cond.notify_all()

    # --- fault injection -----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id` if given) fail with this error.

        The description defaults to the real one for 429 (with retry_after), 403, and a 400 with
        migrate_to_chat_id. `delay` holds the answer back first (to provoke client timeouts).
        """
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
                retry_after = retry_after or 1
            elif error_code == 403:
                description = "Forbidden: bot was blocked by the user"
            elif migrate_to_chat_id is not None:
                description = "Bad Request: group chat was upgraded to a supergroup chat"
            else:
                raise ValueError("description is required for this error code")
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        error = ApiError(error_code, description, parameters or None)
        with self._cond:
            self._faults.append(
                _Fault(method, error, times, None if chat_id is None else str(chat_id), delay)
            )

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` normally, but only after `seconds`."""
        with self._cond:
            self._faults.append(_Fault(method, None, times, None, seconds))

    def block_chat(self, chat_id: int) -> None:
        """The user blocks the bot (or the bot is kicked): sends to the chat answer 403."""
        with self._cond:
            self._ensure_chat(chat_id, "private", None, "Alice", None)
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self._cond:
            self._blocked.discard(chat_id)

    def migrate_chat(self, old_id: int, new_id: int, *, announce: bool = False) -> None:
        """The group is upgraded to supergroup `new_id`: sends to `old_id` answer 400 with migrate_to_chat_id.

        With `announce` the bot also gets the two service messages the real server sends.
        """
        with self._cond:
            old = self._ensure_chat(old_id, "group", None, "Alice", None)
            self._ensure_chat(new_id, "supergroup", old.get("title"), "Alice", None)
            self._migrated[old_id] = new_id
            if announce:
                first = self._user_message(old_id, None, "group", None, "Alice", None, None)
                first["migrate_to_chat_id"] = new_id
                self._push_update("message", first)
                second = self._user_message(new_id, None, "supergroup", None, "Alice", None, None)
                second["migrate_from_chat_id"] = old_id
                self._push_update("message", second)

    def rate_limit(self, per_second: float | None) -> None:
        """Answer 429 with retry_after to sends beyond `per_second` in any one-second window (None: off)."""
        with self._cond:
            self._rate_per_second = per_second
            self._recent_sends.clear()

    def on(self, method: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Serve `method` with `handler(params) -> result` (raise ApiError for an error answer)."""
        with self._cond:
            self._custom[method.lower()] = handler

    # --- observation ---------------------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every API call received, as (method, params as sent)."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._cond:
            return [params for name, params in self._calls if name.lower() == method.lower()]

    @property
    def commands(self) -> list[dict[str, str]]:
        """The command list setMyCommands set for the default scope and all languages."""
        return self.commands_for()

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        with self._cond:
            key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
            return copy.deepcopy(self._commands.get(key, []))

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        with self._cond:
            return list(self._callback_answers)

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._cond:
            return len(self._updates)

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        with self._cond:
            chat = self._chats.get(chat_id)
            return dict(chat) if chat else None

    def messages(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in the chat, oldest first, each in its current state (deleted ones flagged)."""
        with self._cond:
            return [record.snapshot() for record in self._sent.get(chat_id, [])]

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        with self._cond:
            for record in self._sent.get(chat_id, []):
                if record.message_id == message_id:
                    return record.snapshot()
        raise KeyError(f"the bot has no message {message_id} in chat {chat_id}")

    def _count(self, chat_id: int) -> int:
        with self._cond:
            return len(self._sent.get(chat_id, []))

    # --- waiting (sync) ------------------------------------------------------------------------------

    def wait_for_message_sync(self, chat_id: int, *, after: int = 0, timeout: float = 5.0) -> SentMessage:
        """Block until the bot has sent more than `after` messages to the chat; return message `after`."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._sent.get(chat_id, [])) > after, timeout):
                raise AssertionError(self._no_message_report(chat_id, after, timeout))
            return self._sent[chat_id][after].snapshot()

    # --- waiting (asyncio): polls so the test's event loop (and the bot on it) keeps running ---------

    async def _until(self, check: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.01)

    async def wait_for_message(self, chat_id: int, *, after: int = 0, timeout: float = 5.0) -> SentMessage:
        """Wait until the bot has sent more than `after` messages to the chat; return message `after`."""

        def check() -> SentMessage | None:
            sent = self.messages(chat_id)
            return sent[after] if len(sent) > after else None

        found = await self._until(check, timeout)
        if found is None:
            raise AssertionError(self._no_message_report(chat_id, after, timeout))
        return found  # type: ignore[no-any-return]

    async def ask(self, chat_id: int, text: str, *, timeout: float = 5.0, **kwargs: Any) -> SentMessage:
        """Send `text` as the user and return the bot's first new message in the chat."""
        before = self._count(chat_id)
        self.send_message(chat_id, text, **kwargs)
        return await self.wait_for_message(chat_id, after=before, timeout=timeout)

    async def press(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None, timeout: float = 5.0
    ) -> CallbackAnswer:
        """Press an inline button and wait for the bot's answerCallbackQuery to it."""
        query_id = self.press_button(chat_id, message_id, data, user_id=user_id)

        def check() -> CallbackAnswer | None:
            return next((a for a in self.callback_answers if a.query_id == query_id), None)

        answer = await self._until(check, timeout)
        if answer is None:
            raise AssertionError(f"the bot did not answer callback query {data!r} within {timeout}s")
        return answer  # type: ignore[no-any-return]

    async def wait_for_edit(
        self, chat_id: int, message_id: int, *, edits_before: int | None = None, timeout: float = 5.0
    ) -> SentMessage:
        """Wait until the message has more than `edits_before` edits (default: as many as now)."""
        if edits_before is None:
            edits_before = self.message(chat_id, message_id).edits

        def check() -> SentMessage | None:
            current = self.message(chat_id, message_id)
            return current if current.edits > edits_before else None

        edited = await self._until(check, timeout)
        if edited is None:
            raise AssertionError(f"message {message_id} in chat {chat_id} was not edited within {timeout}s")
        return edited  # type: ignore[no-any-return]

    async def expect_no_message(self, chat_id: int, within: float = 0.5, *, after: int | None = None) -> None:
        """Assert the bot sends nothing more to the chat (beyond `after` messages) for `within` seconds."""
        count = self._count(chat_id) if after is None else after
        await asyncio.sleep(within)
        extra = self.messages(chat_id)[count:]
        if extra:
            raise AssertionError(f"unexpected message(s) in chat {chat_id}: {[m.text for m in extra]}")

    async def wait_for_call(self, method: str, *, after: int = 0, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for call number `after` (0-based) of `method`; return its params."""

        def check() -> dict[str, Any] | None:
            made = self.calls_to(method)
            return made[after] if len(made) > after else None

        params = await self._until(check, timeout)
        if params is None:
            raise AssertionError(f"{method} was not called within {timeout}s")
        return params  # type: ignore[no-any-return]

    def _no_message_report(self, chat_id: int, after: int, timeout: float) -> str:
        got = [m.text for m in self.messages(chat_id)]
        recent = [name for name, _ in self.calls[-10:]]
        return (
            f"the bot sent no message #{after + 1} to chat {chat_id} within {timeout}s; "
            f"it sent {got}; last calls: {recent}"
        )


# --------------------------------------------------------------------------------------------------------


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_RESTRICTED_RIGHTS = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
)


def _blocked_description(chat_type: str) -> str:
    if chat_type == "private":
        return "Forbidden: bot was blocked by the user"
    if chat_type == "channel":
        return "Forbidden: bot is not a member of the channel chat"
    return f"Forbidden: bot was kicked from the {chat_type} chat"


def _inline_keyboard(rows: Any) -> list[list[dict[str, Any]]]:
    """Validate an inline keyboard like the server does; return it with each button's effective action."""

    def fail(reason: str) -> ApiError:
        return bad_request(f"can't parse inline keyboard button: {reason}")

    if not isinstance(rows, list):
        raise fail('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    result: list[list[dict[str, Any]]] = []
    for row in rows:
        if not isinstance(row, list):
            raise fail('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        out_row: list[dict[str, Any]] = []
        for button in row:
            if not isinstance(button, dict):
                raise fail("InlineKeyboardButton must be an Object")
            if "text" not in button:
                raise fail('Can\'t find field "text"')
            if not isinstance(button["text"], str):
                raise fail('Field "text" must be of type String')
            action = next((key for key in INLINE_BUTTON_ACTIONS if key in button), None)
            if action is None:
                raise fail("Text buttons are unallowed in the inline keyboard")
            value = button[action]
            if action == "callback_data":
                if not isinstance(value, str):
                    raise fail('Field "callback_data" must be of type String')
                if not 1 <= len(value.encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif action == "url" and not value:
                raise bad_request("BUTTON_URL_INVALID")
            out_row.append({"text": button["text"], action: value})
        result.append(out_row)
    return result
