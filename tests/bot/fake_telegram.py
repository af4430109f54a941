"""A stand-in for the Bot API behind python-telegram-bot's own request layer: records every call
and answers the way Telegram does."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

OWNER = 1001  # the user the test bots serve
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
BOT = {"id": 4242, "is_bot": True, "first_name": "Factory", "username": "factory_bot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Sent:
    """One Bot API call: its method, parameters and the names of uploaded files."""

    method: str
    params: dict
    files: dict[str, int]  # field name -> bytes uploaded


@dataclass
class FakeTelegram(BaseRequest):
    """Answers Bot API methods; `flood` makes the next N calls of a method answer 429 with retry_after.

    `uploads` holds the files users sent (file_id -> bytes), served through getFile and the file URL.
    """

    calls: list[Sent] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    flood: dict[str, int] = field(default_factory=dict)
    # The next N calls of a method reach Telegram (and take effect) but their answer never comes: PTB raises
    # TimedOut, as HTTPXRequest does when the read times out after the request was written.
    lost_answers: dict[str, int] = field(default_factory=dict)
    blobs: list[tuple[str, bytes]] = field(default_factory=list)  # (method, bytes) of every file the bot sent
    next_id: int = 100
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _message(self, chat_id: int, **extra: object) -> dict:
        with self.lock:
            self.next_id += 1
            number = self.next_id
        return {"message_id": number, "date": int(time.time()), "chat": {"id": int(chat_id), "type": "private"},
                "from": BOT, **extra}

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=None, write_timeout=None, connect_timeout=None, pool_timeout=None):
        name = url.rsplit("/", 1)[-1]
        if "/file/bot" in url:  # a download of a file the user sent
            with self.lock:
                self.calls.append(Sent("download", {"file_id": name}, {}))
            return (200, self.uploads[name]) if name in self.uploads else (404, b"")
        params = dict(request_data.parameters) if request_data else {}
        files: dict[str, int] = {}
        if request_data and request_data.contains_files:
            for key, value in request_data.multipart_data.items():
                content = value[1] if isinstance(value, tuple) else value
                files[key] = len(content) if isinstance(content, bytes | bytearray) else 0
                if isinstance(content, bytes | bytearray):
                    self.blobs.append((name, bytes(content)))
        with self.lock:
            self.calls.append(Sent(name, params, files))
            if self.lost_answers.get(name, 0) > 0:
                self.lost_answers[name] -= 1
                raise TimedOut("Timed out")
            if self.flood.get(name, 0) > 0:
                self.flood[name] -= 1
                body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1}}
                return 429, json.dumps(body).encode()
        chat = params.get("chat_id", 1)
        if name == "getMe":
            result: object = BOT
        elif name in ("sendMessage", "editMessageText"):
            result = self._message(chat, text=params.get("text", ""))
        elif name == "sendMediaGroup":
            media = params.get("media", [])
            result = [self._message(chat, photo=[{"file_id": f"p{i}", "file_unique_id": f"u{i}", "width": 1280,
                                                  "height": 720}]) for i, _ in enumerate(media)]
        elif name == "sendVoice":
            result = self._message(chat, voice={"file_id": "vo", "file_unique_id": "vou", "duration": 5})
        elif name == "sendVideo":
            result = self._message(chat, video={"file_id": "v", "file_unique_id": "vu", "width": 1920, "height": 1080,
                                                "duration": int(params.get("duration", 1))})
        elif name == "getFile":
            file_id = params["file_id"]
            result = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(self.uploads.get(file_id, b"")),
                      "file_path": f"documents/{file_id}"}
        elif name == "getUpdates":
            result = []
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def methods(self) -> list[str]:
        """The methods called, in order."""
        with self.lock:
            return [call.method for call in self.calls]


def message_update(update_id: int, chat: int, text: str) -> dict:
    """An update carrying a text message (a command when it starts with /)."""
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text, "entities": entities,
        "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": False, "first_name": "User"}}}


def tap_update(update_id: int, chat: int, data: str, message_id: int = 7) -> dict:
    """An update carrying a tap on an inline button."""
    return {"update_id": update_id, "callback_query": {
        "id": str(update_id), "chat_instance": "c", "data": data,
        "from": {"id": chat, "is_bot": False, "first_name": "User"},
        "message": {"message_id": message_id, "date": int(time.time()), "text": "x",
                    "chat": {"id": chat, "type": "private"}, "from": BOT}}}


def _sender(chat: int) -> dict:
    return {"chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": False, "first_name": "User"}}


def document_update(update_id: int, chat: int, file_id: str, name: str, mime: str, size: int, caption: str = "") -> dict:
    """An update carrying a file sent as a document."""
    message = {"message_id": update_id, "date": int(time.time()), **_sender(chat), "document": {
        "file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": name, "mime_type": mime, "file_size": size}}
    if caption:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def voice_update(update_id: int, chat: int, file_id: str, seconds: int, size: int) -> dict:
    """An update carrying a voice message."""
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()), **_sender(chat),
            "voice": {"file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": seconds,
                      "mime_type": "audio/ogg", "file_size": size}}}
