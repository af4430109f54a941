"""A local stand-in of Microsoft Edge's read-aloud websocket, as `edge-tts` speaks to it.

The client sends `Path:speech.config` and `Path:ssml` text frames; the service answers with
`Path:turn.start`, one `Path:audio.metadata` text frame per word (a WordBoundary with Offset and
Duration in 100 ns ticks), binary `Path:audio` frames (a two-byte header length, the headers, then
MP3 bytes) and `Path:turn.end`. The speech here is Piper reading the text, encoded to MP3, and the
boundaries are Piper's own word times. `refuse` connections are closed without audio first.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from engine.media import run_ffmpeg
from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS

TICKS = 10_000_000


@dataclass
class FakeEdge:
    """The stand-in service: what it was asked (voice, rate, text), and how many connections to refuse."""

    refuse: int = 0
    asked: list[dict] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._reader = PiperTTS(VoiceStyle())
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    def start(self) -> str:
        """Serve on a free local port; the websocket URL that edge-tts should use."""
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(10)
        return self.url

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/edge/v1", self._socket)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/edge/v1?TrustedClientToken=test"
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        """Stop serving."""
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        config, ssml = await socket.receive_str(), await socket.receive_str()
        if self.refuse > 0:
            self.refuse -= 1
            await socket.close()
            return socket
        voice = re.search(r"<voice name='([^']+)'>", ssml)[1]
        prosody = re.search(r"<prosody [^>]*rate='([^']+)'[^>]*>(.*)</prosody>", ssml, re.S)
        text = html.unescape(prosody[2])
        self.asked.append({"voice": voice, "rate": prosody[1], "text": text,
                           "words": '"wordBoundaryEnabled":"true"' in config})
        mp3, words = await asyncio.to_thread(self._speech, text)
        await socket.send_str("X-RequestId:1\r\nContent-Type:application/json; charset=utf-8\r\nPath:turn.start\r\n\r\n{}")
        for word in words:
            data = {"Offset": round(word.start * TICKS), "Duration": round((word.end - word.start) * TICKS),
                    "text": {"Text": word.text.strip(".,!?;:"), "Length": len(word.text), "BoundaryType": "WordBoundary"}}
            await socket.send_str("X-RequestId:1\r\nContent-Type:application/json; charset=utf-8\r\n"
                                  f"Path:audio.metadata\r\n\r\n{json.dumps({'Metadata': [{'Type': 'WordBoundary', 'Data': data}]})}")
        headers = b"X-RequestId:1\r\nContent-Type:audio/mpeg\r\nPath:audio\r\n"
        for start in range(0, len(mp3), 4096):
            await socket.send_bytes(len(headers).to_bytes(2, "big") + headers + mp3[start:start + 4096])
        await socket.send_str("X-RequestId:1\r\nContent-Type:application/json; charset=utf-8\r\nPath:turn.end\r\n\r\n{}")
        await socket.close()
        return socket

    def _speech(self, text: str) -> tuple[bytes, tuple]:
        with tempfile.TemporaryDirectory() as folder:
            spoken = self._reader.speak(text, Path(folder) / "speech.wav")
            run_ffmpeg(["-i", str(spoken.audio), "-ar", "24000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k",
                        str(Path(folder) / "speech.mp3")], what="mp3")
            return (Path(folder) / "speech.mp3").read_bytes(), spoken.words
