"""/start, /help and /presets: what the bot does and which presets it has."""

from __future__ import annotations

from telegram import Update

from bot.services import FactoryContext, off_loop

HELP = (
    "I turn a topic into a finished video: script, narration, subtitles, pictures, music and thumbnails.\n\n"
    "Send me a topic (for example: The Siege of Leningrad), or /new, then pick a channel preset and a length.\n"
    "Your own script: send it as a .txt file. Your own voice: send a voice or audio message (up to an hour).\n"
    "/presets lists the presets, /settings sets your defaults (preset, language, captions, voice, review of "
    "the pictures before the render), "
    "/status shows what is running, /jobs your latest videos, /cancel stops yours, /abtest your thumbnail tests, "
    "/plan your channels' topics and calendar (/plan add TOPIC, /plan schedule, /plan ideas), "
    "/stats how the factory is doing (/stats daily 09:00 for a daily message), /tokens the Hugging Face "
    "accounts' balances (admins); "
    "/help shows this again."
)


async def on_help(update: Update, context: FactoryContext) -> None:
    """/start and /help."""
    await update.effective_message.reply_text(HELP)


async def on_presets(update: Update, context: FactoryContext) -> None:
    """/presets: each preset with its description."""
    presets = await off_loop(context.services.presets)
    await update.effective_message.reply_text("\n".join(f"• {name}: {text}" for name, text in presets.items()))


ACCEPTED = ("I take a topic as a text message, your script as a .txt file, or your narration as a voice or "
            "audio message. /help says more.")


async def on_stale_button(update: Update, context: FactoryContext) -> None:
    """A button no handler takes (out of date, or not one of ours): answered, so it does not spin."""
    await update.callback_query.answer("This button is out of date.")


async def on_anything_else(update: Update, context: FactoryContext) -> None:
    """A photo, a sticker, a video…: say what the bot takes instead of keeping silent."""
    await update.effective_message.reply_text(ACCEPTED)
