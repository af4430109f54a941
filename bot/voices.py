"""/settings voice: the voices of the chat's language as buttons, and a five-second sample of one as a voice message."""

from __future__ import annotations

import tempfile
from pathlib import Path

from telegram import Update

from bot.keyboards import voices_keyboard
from bot.making import chat_defaults
from bot.redact import for_chat
from bot.services import FactoryContext, off_loop
from engine.config import Settings
from engine.errors import VideoFactoryError
from engine.media import run_ffmpeg
from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS
from engine.voices import BUNDLED, VoiceHub, is_catalogue_key, native_voice

MAX_CHOICES = 8
SAMPLES = {
    "en": "The first convoy crossed the frozen lake at night.",
    "ru": "Первая колонна пересекла замёрзшее озеро ночью.",
    "de": "Der erste Konvoi überquerte nachts den zugefrorenen See.",
    "fr": "Le premier convoi a traversé le lac gelé pendant la nuit.",
    "es": "El primer convoy cruzó el lago helado de noche.",
    "it": "Il primo convoglio attraversò di notte il lago ghiacciato.",
    "pt": "O primeiro comboio atravessou o lago congelado à noite.",
    "pl": "Pierwszy konwój przejechał nocą przez zamarznięte jezioro.",
    "uk": "Перша колона перетнула замерзле озеро вночі.",
    "tr": "İlk konvoy gece donmuş gölü geçti.",
}


def voice_choices(settings: Settings, language: str) -> list[str]:
    """The voices to offer for a language: the bundled one (English), its native default, those installed, the hub's."""
    hub = VoiceHub(settings.voices_dir)
    choices = [BUNDLED] if language == "en" else []
    choices += [native] if (native := native_voice(language)) else []
    choices += [voice.key for voice in hub.installed() if voice.language.split("_")[0] == language]
    try:
        choices += [voice.key for voice in hub.catalogue(local_only=True) if voice.language.split("_")[0] == language]
    except VideoFactoryError:
        pass  # no catalogue fetched yet (`videofactory voices` fetches it): the defaults and what is installed
    return list(dict.fromkeys(choices))[:MAX_CHOICES]


def sample(settings: Settings, name: str, language: str, out: Path) -> Path:
    """Five seconds of the voice reading a sentence of the language, as an OGG/Opus voice message."""
    model = name if not is_catalogue_key(name) else str(VoiceHub(settings.voices_dir).fetch(name).model)
    spoken = PiperTTS(VoiceStyle(piper=model), language).speak(SAMPLES.get(language, SAMPLES["en"]), out / "sample.wav")
    voice_message = out / "sample.ogg"
    run_ffmpeg(["-i", str(spoken.audio), "-t", "5", "-c:a", "libopus", "-b:a", "32k", str(voice_message)], what="sample")
    return voice_message


async def on_voice_menu(update: Update, context: FactoryContext) -> None:
    """"Voice" tapped in /settings: the voices of the chat's language, each with a sample button."""
    query = update.callback_query
    await query.answer()
    mine = await chat_defaults(context, update.effective_chat.id)
    language = mine.language or "en"
    choices = await off_loop(voice_choices, context.services.settings, language)
    await query.edit_message_text(f"Default voice for '{language}' (🔊 sends a sample):",
                                  reply_markup=voices_keyboard(choices))


async def on_voice_sample(update: Update, context: FactoryContext) -> None:
    """🔊 tapped: a five-second sample of that voice, fetched first if need be."""
    query, chat = update.callback_query, update.effective_chat.id
    await query.answer("Reading a sample…")
    name = query.data.split(":", 1)[1]
    language = (await chat_defaults(context, chat)).language or "en"
    with tempfile.TemporaryDirectory() as folder:
        try:
            voice_message = await off_loop(sample, context.services.settings, name, language, Path(folder))
        except VideoFactoryError as error:
            await context.bot.send_message(chat, f"⚠️ {for_chat(error)}")
            return
        with voice_message.open("rb") as handle:
            await context.bot.send_voice(chat, handle, caption=name)
