"""A fake Bot API over HTTP on 127.0.0.1: getUpdates from a queue, every other method recorded,
multipart uploads parsed and kept."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.bot.fake_telegram import BOT


@dataclass
class Received:
    """One Bot API call: method, fields and uploaded files (field name -> bytes)."""

    method: str
    fields: dict[str, str]
    files: dict[str, bytes]


@dataclass
class BotAPIServer:
    """Serve updates to a bot process and record what it sends back."""

    updates: list[dict] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)  # files users sent: file_id -> bytes
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 500

    def start(self) -> str:
        """Serve in a thread; the base URL to give the bot."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                file_id = self.path.rsplit("/", 1)[-1]  # /file/bot<token>/documents/<file_id>
                data = api.uploads.get(file_id) if "/file/bot" in self.path else None
                with api.lock:
                    api.received.append(Received("download", {"file_id": file_id}, {}))
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fields, files = api.parse(self.headers.get("Content-Type", ""), body)
                result = api.answer(method, fields, files)
                payload = json.dumps({"ok": True, "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def parse(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
        """Fields and files of a JSON, form or multipart body."""
        if content_type.startswith("application/json"):
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(body or b"{}").items()}, {}
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
            fields: dict[str, str] = {}
            files: dict[str, bytes] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True) or b""
                if part.get_filename():
                    files[name] = data
                else:
                    fields[name] = data.decode()
            return fields, files
        from urllib.parse import parse_qsl

        return dict(parse_qsl(body.decode())), {}

    def answer(self, method: str, fields: dict[str, str], files: dict[str, bytes]) -> object:
        """What Telegram would answer."""
        if method == "getUpdates":
            offset = int(fields.get("offset", 0) or 0)
            deadline = time.monotonic() + min(float(fields.get("timeout", 0) or 0), 1.0)
            while True:
                with self.lock:
                    pending = [u for u in self.updates if u["update_id"] >= offset]
                if pending or time.monotonic() >= deadline:
                    return pending
                time.sleep(0.05)
        with self.lock:
            self.received.append(Received(method, fields, files))
            self.next_id += 1
            number = self.next_id
        chat = int(fields.get("chat_id", 1) or 1)
        message = {"message_id": number, "date": int(time.time()), "chat": {"id": chat, "type": "private"}, "from": BOT}
        if method == "getMe":
            return BOT
        if method in ("sendMessage", "editMessageText", "sendVideo"):
            return message
        if method == "getFile":
            file_id = fields["file_id"]
            return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(self.uploads.get(file_id, b"")),
                    "file_path": f"documents/{file_id}"}
        if method == "sendMediaGroup":
            return [message for _ in json.loads(fields.get("media", "[]"))]
        return True

    def methods(self) -> list[str]:
        """Methods received, in order."""
        with self.lock:
            return [r.method for r in self.received]
