"""A local server on 127.0.0.1 that answers like the Hugging Face inference API.

- `POST /` (text-to-image): PNG bytes, a colour per prompt;
- `POST /v1/chat/completions`: OpenAI-style chat completion JSON, replies taken from a queue;
- `GET /api/whoami-v2`: 200 for a known token, 401 for a revoked one.
Each token has a plan: a queue of answers ("ok", "402", "429:SECONDS", "401", "500", "slow:SECONDS")
and optionally a quota of successful calls after which it answers 402. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

VALID_SCRIPT = {
    "title": "The Night Convoy",
    "description": "How trucks crossed a frozen lake to feed a city.",
    "tags": ["history", "winter", "convoy"],
    "scenes": [
        {"narration": "In the winter of 1941 the only road into the city ran across a frozen lake.",
         "image_prompt": "trucks on a frozen lake at night", "mood": "tense"},
        {"narration": "Drivers crossed at night with their doors open, ready to jump if the ice broke.",
         "image_prompt": "a truck driver looking at cracking ice", "mood": "dramatic"},
        {"narration": "By spring the convoy had carried enough flour to keep a million people alive.",
         "image_prompt": "sacks of flour unloaded at dawn", "mood": "uplifting"},
    ],
}


@dataclass
class Call:
    """One request the server answered."""

    path: str
    token: str
    body: dict
    status: int
    started: float
    finished: float


@dataclass
class FakeHF:
    """The server's behaviour and its record; start() runs it on a free port."""

    latency: float = 0.0  # seconds before every image answer
    plans: dict[str, deque[str]] = field(default_factory=dict)
    quotas: dict[str, int] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    chat_replies: deque[str] = field(default_factory=deque)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    successes: dict[str, int] = field(default_factory=dict)

    def plan(self, token: str, *answers: str, quota: int | None = None) -> None:
        """Answers `token` gets first (then "ok"), and how many successes before it is out of quota."""
        self.plans[token] = deque(answers)
        if quota is not None:
            self.quotas[token] = quota

    def start(self) -> str:
        """Serve in a thread; the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _token(self) -> str:
                return (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()

            def _send(self, status: int, body: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                token = self._token()
                if token in fake.revoked:
                    self._send(401, b'{"error": "Invalid credentials in Authorization header"}', "application/json")
                else:
                    self._send(200, json.dumps({"name": "tester", "type": "user"}).encode(), "application/json")

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                started = time.monotonic()
                token = self._token()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake.lock:
                    plan = fake.plans.get(token)
                    answer = plan.popleft() if plan else "ok"
                    if answer == "ok" and token in fake.quotas and fake.successes.get(token, 0) >= fake.quotas[token]:
                        answer = "402"
                    if token in fake.revoked:
                        answer = "401"
                    if answer == "ok" or answer.startswith("slow:"):
                        fake.successes[token] = fake.successes.get(token, 0) + 1  # counted now: no race past the quota
                status, extra = 200, {}
                if answer.startswith("slow:"):
                    time.sleep(float(answer.split(":")[1]))
                    answer = "ok"
                if answer.startswith("429"):
                    status, extra = 429, {"Retry-After": answer.split(":")[1] if ":" in answer else "1"}
                elif answer != "ok":
                    status = int(answer)
                if status != 200:
                    self._send(status, json.dumps({"error": f"status {status}"}).encode(), "application/json", extra)
                elif self.path.endswith("/chat/completions"):
                    with fake.lock:
                        content = fake.chat_replies.popleft() if fake.chat_replies else json.dumps(VALID_SCRIPT)
                    reply = {
                        "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                        "model": body.get("model", "m"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                    self._send(200, json.dumps(reply).encode(), "application/json")
                else:
                    time.sleep(fake.latency)
                    prompt = body.get("inputs", "")
                    colour = tuple(hashlib.sha256(prompt.encode()).digest()[:3])
                    params = body.get("parameters", {})
                    image = Image.new("RGB", (params.get("width", 64) // 8, params.get("height", 64) // 8), colour)
                    buffer = io.BytesIO()
                    image.save(buffer, "PNG")
                    self._send(200, buffer.getvalue(), "image/png")
                with fake.lock:
                    fake.calls.append(Call(self.path, token, body, status, started, time.monotonic()))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client killed mid-answer is expected here
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()

    def image_calls(self, status: int | None = 200) -> list[Call]:
        """Image requests, with the given answer status (None: all)."""
        with self.lock:
            return [c for c in self.calls if c.path == "/" and (status is None or c.status == status)]
