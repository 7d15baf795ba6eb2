"""Tests of the Telegram Bot API fake, over real HTTP: raw (httpx) and through a real telegram.Bot."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import telegram
from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter

from tests.fakes.telegram_api import FakeTelegram, parse_html

CHAT = 42


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTelegram]:
    with FakeTelegram() as started:
        yield started


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    server.reset()
    server.add_chat(CHAT)
    return server


@pytest.fixture
def api(fake: FakeTelegram) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{fake.base_url}{fake.token}", timeout=10) as client:
        yield client


def keyboard(*rows: list[dict[str, Any]]) -> str:
    return json.dumps({"inline_keyboard": list(rows)})


def send(api: httpx.Client, **params: Any) -> httpx.Response:
    return api.post("/sendMessage", data={"chat_id": str(CHAT), **params})


def error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["ok"] is False
    assert body["error_code"] == response.status_code
    return response.status_code, body["description"]


# --- routing and auth ---------------------------------------------------------------------------------


def test_get_me_and_routing(fake: FakeTelegram, api: httpx.Client) -> None:
    me = api.get("/getMe").json()
    assert me == {"ok": True, "result": fake.bot_user}
    assert me["result"]["id"] == 123456 and me["result"]["username"] == "taskcast_bot"
    assert api.post("/GETME").json()["ok"] is True  # method names are case-insensitive

    wrong = httpx.post(f"{fake.base_url}999:nope/getMe")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    missing = api.post("/sendCarrierPigeon")
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert [name for name, _ in fake.calls] == ["getMe", "getMe"]


# --- sendMessage validation ----------------------------------------------------------------------------


def test_send_message_result_and_record(fake: FakeTelegram, api: httpx.Client) -> None:
    markup = keyboard([{"text": "Done", "callback_data": "done:1"}, {"text": "Docs", "url": "https://x.org"}])
    body = send(api, text="<b>Buy</b> milk &amp; eggs", parse_mode="HTML", reply_markup=markup).json()
    result = body["result"]
    assert result["text"] == "Buy milk & eggs"
    assert result["entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert result["from"]["id"] == fake.bot_user["id"] and result["chat"]["id"] == CHAT
    second = send(api, text="again").json()["result"]
    assert second["message_id"] == result["message_id"] + 1
    assert "reply_markup" not in second and "entities" not in second

    [first, _] = fake.messages(CHAT)
    assert first.html == "<b>Buy</b> milk &amp; eggs" and first.parse_mode == "HTML"
    assert first.buttons() == [[("Done", "done:1"), ("Docs", "https://x.org")]]
    assert first.button_texts == ["Done", "Docs"]
    assert first.callback_data("Done") == "done:1"


def test_unknown_chat(api: httpx.Client) -> None:
    response = api.post("/sendMessage", data={"chat_id": "777", "text": "hi"})
    assert error(response) == (400, "Bad Request: chat not found")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("x" * 4096, True),
        ("x" * 4097, False),
        ("😀" * 2048, True),  # 4096 UTF-16 code units
        ("😀" * 2049, False),
        ("<b>" + "x" * 4096 + "</b>", True),  # the limit applies after entity parsing
    ],
)
def test_text_length_limit(api: httpx.Client, text: str, ok: bool) -> None:
    response = send(api, text=text, parse_mode="HTML")
    if ok:
        assert response.json()["ok"] is True
    else:
        assert error(response) == (400, "Bad Request: message is too long")


@pytest.mark.parametrize("text", ["", "   \n", "<b> </b>"])
def test_empty_text(api: httpx.Client, text: str) -> None:
    assert error(send(api, text=text, parse_mode="HTML")) == (400, "Bad Request: message text is empty")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é <br>", 'Unsupported start tag "br" at byte offset 3'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Tom & Jerry", 'Unescaped "&" at byte offset 4 (strict_html)'),
        ("&nbsp;", 'Unescaped "&" at byte offset 0 (strict_html)'),
    ],
)
def test_bad_html(api: httpx.Client, html: str, reason: str) -> None:
    response = send(api, text=html, parse_mode="HTML")
    assert error(response) == (400, f"Bad Request: can't parse entities: {reason}")


def test_html_entities_and_offsets() -> None:
    html = (
        '😀<i>it</i> &lt;&gt;&quot;&#65;&#x42; <a href="https://e.org/?a=1&amp;b=2">l</a> '
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
        '<pre><code class="language-python">p</code></pre><code>c</code>'
        "<blockquote expandable>q</blockquote><u>u</u><s>s</s><strong>b</strong>"
    )
    text, entities = parse_html(html)
    assert text == '😀it <>"AB l stpcqusb'
    by_type = {e["type"]: e for e in entities}
    assert by_type["italic"] == {"type": "italic", "offset": 2, "length": 2}  # the emoji is 2 code units
    assert by_type["text_link"]["url"] == "https://e.org/?a=1&b=2"
    assert by_type["pre"]["language"] == "python"
    assert [e["type"] for e in entities].count("spoiler") == 2
    assert {"code", "expandable_blockquote", "underline", "strikethrough", "bold"} <= set(by_type)
    assert parse_html("Tom & Jerry &lt", strict=False) == ("Tom & Jerry <", [])


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        ("{not json", "Bad Request: can't parse reply keyboard markup JSON object"),
        ("[1]", "Bad Request: object expected as reply markup"),
        (keyboard([{"text": "a", "callback_data": "x" * 65}]), "Bad Request: BUTTON_DATA_INVALID"),
        (keyboard([{"text": "a", "callback_data": "é" * 33}]), "Bad Request: BUTTON_DATA_INVALID"),
        (keyboard([{"text": "a", "callback_data": ""}]), "Bad Request: BUTTON_DATA_INVALID"),
        (
            keyboard([{"text": "a"}]),
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        ),
        (
            keyboard([{"callback_data": "a"}]),
            "Bad Request: can't parse inline keyboard button: Can't find field \"text\"",
        ),
    ],
)
def test_bad_reply_markup(api: httpx.Client, markup: str, description: str) -> None:
    assert error(send(api, text="hi", reply_markup=markup)) == (400, description)


def test_other_reply_markups_accepted(api: httpx.Client) -> None:
    assert send(api, text="ok", reply_markup=keyboard([{"text": "a", "callback_data": "x" * 64}])).is_success
    for markup in ({"force_reply": True}, {"remove_keyboard": True}, {"keyboard": [["Yes", "No"]]}):
        result = send(api, text="hi", reply_markup=json.dumps(markup)).json()["result"]
        assert "reply_markup" not in result  # only inline keyboards are echoed in the message


# --- edits, callbacks, commands, chats -----------------------------------------------------------------


def test_edits(fake: FakeTelegram, api: httpx.Client) -> None:
    markup = keyboard([{"text": "Done", "callback_data": "d"}])
    message_id = send(api, text="v1", reply_markup=markup).json()["result"]["message_id"]
    edit = {"chat_id": str(CHAT), "message_id": str(message_id)}

    same = api.post("/editMessageText", data={**edit, "text": "v1", "reply_markup": markup})
    assert error(same) == (
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message",
    )
    edited = api.post("/editMessageText", data={**edit, "text": "<i>v2</i>", "parse_mode": "HTML"}).json()
    assert edited["result"]["text"] == "v2" and "edit_date" in edited["result"]
    assert "reply_markup" not in edited["result"]  # editing without reply_markup drops the keyboard
    assert api.post("/editMessageReplyMarkup", data={**edit, "reply_markup": markup}).is_success
    current = fake.message(CHAT, message_id)
    assert (current.text, current.edits, current.button_texts) == ("v2", 2, ["Done"])

    gone = api.post("/editMessageText", data={**edit, "message_id": "999", "text": "x"})
    assert error(gone) == (400, "Bad Request: message to edit not found")
    user_message = fake.send_message(CHAT, "mine")["message_id"]
    theirs = api.post("/editMessageText", data={**edit, "message_id": str(user_message), "text": "x"})
    assert error(theirs) == (400, "Bad Request: message can't be edited")


def test_callback_query_round_trip(fake: FakeTelegram, api: httpx.Client) -> None:
    message_id = send(api, text="t", reply_markup=keyboard([{"text": "Done", "callback_data": "d"}])).json()[
        "result"
    ]["message_id"]
    with pytest.raises(ValueError, match="no button"):
        fake.press_button(CHAT, message_id, "other")
    query_id = fake.press_button(CHAT, message_id, "d")
    [update] = api.post("/getUpdates").json()["result"]
    query = update["callback_query"]
    assert (query["id"], query["data"], query["from"]["id"]) == (query_id, "d", CHAT)
    assert query["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "d"

    answer = {"callback_query_id": query_id, "text": "Done!", "show_alert": "true"}
    assert api.post("/answerCallbackQuery", data=answer).json() == {"ok": True, "result": True}
    [recorded] = fake.callback_answers
    assert (recorded.text, recorded.show_alert, recorded.message_id) == ("Done!", True, message_id)
    again = api.post("/answerCallbackQuery", data=answer)
    assert error(again) == (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )


def test_commands_chats_and_members(fake: FakeTelegram, api: httpx.Client) -> None:
    commands = [{"command": "add", "description": "Add a task"}, {"command": "list", "description": "Tasks"}]
    assert api.post("/setMyCommands", data={"commands": json.dumps(commands)}).json()["result"] is True
    assert fake.commands == commands
    assert api.post("/getMyCommands").json()["result"] == commands
    bad = api.post("/setMyCommands", data={"commands": json.dumps([{"command": "Add!", "description": "x"}])})
    assert error(bad) == (400, "Bad Request: BOT_COMMAND_INVALID")

    fake.add_chat(-100, "group", "Family")
    chat = api.post("/getChat", data={"chat_id": "-100"}).json()["result"]
    assert (chat["type"], chat["title"]) == ("group", "Family")
    fake.send_message(-100, "hi", user_id=7)
    fake.set_member_status(-100, 8, "administrator")
    for user_id, status in ((7, "member"), (8, "administrator")):
        params = {"chat_id": "-100", "user_id": str(user_id)}
        member = api.post("/getChatMember", data=params).json()["result"]
        assert ChatMember.de_json(member, None).status == status
    assert api.post("/sendChatAction", data={"chat_id": str(CHAT), "action": "typing"}).is_success
    bad_action = api.post("/sendChatAction", data={"chat_id": str(CHAT), "action": "dancing"})
    assert error(bad_action) == (400, "Bad Request: wrong parameter action in request")


def test_injected_messages(fake: FakeTelegram, api: httpx.Client) -> None:
    first = fake.send_message(CHAT, "/add@taskcast_bot milk tomorrow")
    assert first["entities"] == [{"type": "bot_command", "offset": 0, "length": 17}]
    assert first["from"]["id"] == CHAT and first["chat"]["type"] == "private"
    reply = fake.send_message(CHAT, "yes", reply_to_message_id=first["message_id"])
    assert reply["reply_to_message"]["message_id"] == first["message_id"]
    fake.send_location(CHAT, 52.52, 13.405)
    updates = api.post("/getUpdates").json()["result"]
    assert [u["update_id"] for u in updates] == [1, 2, 3]
    assert updates[2]["message"]["location"] == {"latitude": 52.52, "longitude": 13.405}
    assert fake.send_raw_update({"edited_message": {**first, "text": "/add eggs"}}) == 4


# --- getUpdates ------------------------------------------------------------------------------------------


def test_get_updates_offset_and_limit(fake: FakeTelegram, api: httpx.Client) -> None:
    for text in "abcd":
        fake.send_message(CHAT, text)

    def texts(updates: list[dict[str, Any]]) -> list[str]:
        return [u["message"]["text"] for u in updates]

    assert texts(api.post("/getUpdates", data={"limit": "2"}).json()["result"]) == ["a", "b"]
    assert texts(api.post("/getUpdates").json()["result"]) == ["a", "b", "c", "d"]  # unconfirmed stay
    assert texts(api.post("/getUpdates", data={"offset": "3"}).json()["result"]) == ["c", "d"]
    assert fake.pending_updates == 2  # updates below the offset are confirmed and gone
    assert texts(api.post("/getUpdates", data={"offset": "-1"}).json()["result"]) == ["d"]
    assert api.post("/getUpdates", data={"offset": "5"}).json()["result"] == []


def test_allowed_updates_persist(fake: FakeTelegram, api: httpx.Client) -> None:
    api.post("/getUpdates", data={"allowed_updates": json.dumps(["callback_query"])})
    fake.send_message(CHAT, "dropped: not an allowed type")
    assert fake.pending_updates == 0
    api.post("/deleteWebhook", data={"drop_pending_updates": "true"})
    api.post("/getUpdates", data={"allowed_updates": "[]"})  # empty list: back to the default
    fake.send_message(CHAT, "kept")
    assert fake.pending_updates == 1


def test_long_poll_timing(fake: FakeTelegram, api: httpx.Client) -> None:
    started = time.monotonic()
    assert api.post("/getUpdates", data={"timeout": "0.3"}).json() == {"ok": True, "result": []}
    assert 0.25 <= time.monotonic() - started < 1.5

    threading.Timer(0.2, fake.send_message, args=(CHAT, "wake")).start()
    started = time.monotonic()
    result = api.post("/getUpdates", data={"timeout": "5"}).json()["result"]
    assert [u["message"]["text"] for u in result] == ["wake"]
    assert time.monotonic() - started < 1.5


def test_second_poller_terminates_the_first(fake: FakeTelegram, api: httpx.Client) -> None:
    answers: list[httpx.Response] = []
    first = threading.Thread(target=lambda: answers.append(api.post("/getUpdates", data={"timeout": "5"})))
    first.start()
    time.sleep(0.2)
    assert api.post("/getUpdates").json()["ok"] is True
    first.join(timeout=2)
    assert error(answers[0]) == (
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    )


# --- fault injection ---------------------------------------------------------------------------------


def test_fault_shapes(fake: FakeTelegram, api: httpx.Client) -> None:
    fake.fail_next("sendMessage", error_code=429, retry_after=7)
    limited = send(api, text="hi").json()
    assert limited == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert send(api, text="hi").is_success  # only the next call failed

    fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", chat_id=CHAT, times=2)
    fake.add_chat(43)
    assert api.post("/sendMessage", data={"chat_id": "43", "text": "x"}).is_success
    assert [send(api, text="x").status_code for _ in range(3)] == [502, 502, 200]

    fake.block_chat(CHAT)
    assert error(send(api, text="x")) == (403, "Forbidden: bot was blocked by the user")
    fake.unblock_chat(CHAT)
    fake.add_chat(-5, "group", "Old")
    fake.migrate_chat(-5, -1005)
    moved = api.post("/sendMessage", data={"chat_id": "-5", "text": "x"}).json()
    assert moved["description"] == "Bad Request: group chat was upgraded to a supergroup chat"
    assert moved["parameters"] == {"migrate_to_chat_id": -1005}
    assert api.post("/sendMessage", data={"chat_id": "-1005", "text": "x"}).is_success


def test_rate_limit(api: httpx.Client, fake: FakeTelegram) -> None:
    fake.rate_limit(2)
    codes = [send(api, text="x").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    fake.rate_limit(None)
    assert send(api, text="x").is_success


# --- through PTB ---------------------------------------------------------------------------------------


async def test_ptb_bot_round_trip(fake: FakeTelegram) -> None:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
        assert bot.username == "taskcast_bot"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Done ✅", callback_data="done:1")]])
        sent = await bot.send_message(CHAT, "<b>Milk</b> &amp; eggs", parse_mode="HTML", reply_markup=markup)
        assert sent.text == "Milk & eggs" and sent.text_html == "<b>Milk</b> &amp; eggs"
        assert sent.reply_markup == markup

        answer_task = asyncio.create_task(fake.press(CHAT, sent.message_id, "done:1", timeout=3))
        [update] = await bot.get_updates()
        assert update.callback_query is not None and update.callback_query.data == "done:1"
        await update.callback_query.answer("Marked done")
        assert (await answer_task).text == "Marked done"

        edited = await bot.edit_message_text("Milk ✔", chat_id=CHAT, message_id=sent.message_id)
        assert isinstance(edited, telegram.Message) and edited.reply_markup is None
        assert (await fake.wait_for_message(CHAT)).edits == 1
        chat = await bot.get_chat(CHAT)
        assert chat.id == CHAT


async def test_ptb_errors(fake: FakeTelegram) -> None:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
        with pytest.raises(BadRequest, match=r"^Message is too long$"):
            await bot.send_message(CHAT, "x" * 4097)
        with pytest.raises(BadRequest, match='unsupported start tag "foo" at byte offset 0'):
            await bot.send_message(CHAT, "<foo>", parse_mode="HTML")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(CHAT, "x", reply_markup=markup)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(12345, "x")

        fake.block_chat(CHAT)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CHAT, "x")
        fake.unblock_chat(CHAT)
        fake.fail_next("sendMessage", error_code=429, retry_after=3)
        with pytest.raises(RetryAfter) as retry:
            await bot.send_message(CHAT, "x")
        assert retry.value.retry_after == 3
        fake.migrate_chat(-7, -1007)
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-7, "x")
        assert migrated.value.new_chat_id == -1007

    with pytest.raises(InvalidToken):
        async with telegram.Bot("1:wrong", base_url=fake.base_url):
            pass


async def test_conversation_helpers(fake: FakeTelegram) -> None:
    """`ask`/`wait_for_edit`/`expect_no_message` against a tiny echo loop standing in for the bot."""
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:

        async def echo_once() -> None:
            [update] = await bot.get_updates(timeout=2)
            await bot.get_updates(offset=update.update_id + 1)
            assert update.message is not None and update.message.text is not None
            reply = await update.message.reply_text(update.message.text.upper())
            await reply.edit_text(f"{reply.text}!")

        task = asyncio.create_task(echo_once())
        reply = await fake.ask(CHAT, "hello", timeout=3)
        assert reply.text in ("HELLO", "HELLO!")
        edited = await fake.wait_for_edit(CHAT, reply.message_id, edits_before=0, timeout=3)
        assert edited.text == "HELLO!"
        await task
        await fake.expect_no_message(CHAT, within=0.1)
        assert fake.wait_for_message_sync(CHAT).message_id == reply.message_id
        with pytest.raises(AssertionError, match="sent no message #2"):
            await fake.wait_for_message(CHAT, after=1, timeout=0.1)


async def test_real_application_polls_the_fake(fake: FakeTelegram) -> None:
    """A real PTB Application long-polls the fake, answers a command and a button press, then stops."""
    from telegram import Update
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
        await update.effective_message.reply_html(f"Hi <b>{context.args}</b>", reply_markup=buttons)

    async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Saved")
        await query.edit_message_text("Done ✔")

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(done))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        await app.start()
        try:
            reply = await fake.ask(CHAT, "/start@taskcast_bot now", timeout=3)
            assert reply.text == "Hi ['now']" and reply.button_texts == ["Done"]
            answer = await fake.press(CHAT, reply.message_id, reply.callback_data("Done"), timeout=3)
            assert answer.text == "Saved"
            edited = await fake.wait_for_edit(CHAT, reply.message_id, edits_before=0, timeout=3)
            assert edited.text == "Done ✔" and edited.reply_markup is None
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.pending_updates == 0  # the updater confirmed everything on the way out
    assert [name for name, _ in fake.calls][:2] == ["getMe", "deleteWebhook"]
