"""/settings: a chat's defaults for new videos (preset, language, captions, voice, review), by command or by buttons."""

from __future__ import annotations

from telegram import Update

from bot.keyboards import choices_keyboard, settings_keyboard
from bot.making import chat_defaults
from bot.services import FactoryContext, off_loop
from engine.errors import InputError
from engine.models import CAPTION_KINDS
from engine.pipeline import check_language
from engine.tables import ChatSettings
from engine.voices import BUNDLED, is_catalogue_key

LANGUAGES = ("en", "ru", "de", "fr", "es", "it", "pt", "uk")
NONE_WORDS = ("", "none", "default", "-")
REVIEW_WORDS = {"on": True, "off": False, "yes": True, "no": False}
SETTINGS = "settings are: preset, language, captions, voice, review"


def settings_text(mine: ChatSettings) -> str:
    """A chat's defaults, one per line."""
    return ("Your defaults for new videos:\n"
            f"• preset: {mine.preset or 'ask each time'}\n"
            f"• language: {mine.language or 'the preset’s'}\n"
            f"• captions: {mine.caption_style or 'the preset’s'}\n"
            f"• voice: {mine.voice or 'the preset’s, or the language’s own'}\n"
            f"• review of the pictures before the render: "
            f"{'the preset’s' if mine.review is None else 'on' if mine.review else 'off'}")


def checked(what: str, value: str | None, presets: dict[str, str]) -> tuple[str, str | bool | None]:
    """The column and value of one default; an InputError names what is wrong with the value."""
    if value is None:
        column = {"preset": "preset", "language": "language", "captions": "caption_style", "voice": "voice",
                  "review": "review"}.get(what)
        if column is None:
            raise InputError(SETTINGS)
        return column, None
    if what == "preset":
        if value not in presets:
            raise InputError(f"there is no preset '{value}'; /presets lists them")
        return "preset", value
    if what == "language":
        return "language", check_language(value)
    if what == "captions":
        if value not in CAPTION_KINDS:
            raise InputError(f"captions are one of: {', '.join(CAPTION_KINDS)}")
        return "caption_style", value
    if what == "voice":
        if value != BUNDLED and not is_catalogue_key(value):
            raise InputError(f"'{value}' is not a voice: joe, or a Piper voice such as ru_RU-dmitri-medium")
        return "voice", value
    if what == "review":
        if value.lower() not in REVIEW_WORDS:
            raise InputError("review is on or off")
        return "review", REVIEW_WORDS[value.lower()]
    raise InputError(SETTINGS)


async def save(context: FactoryContext, chat: int, what: str, value: str | bool | None) -> ChatSettings:
    """Check and keep one default of a chat."""
    column, value = checked(what, value, await off_loop(context.services.presets))
    mine = await chat_defaults(context, chat)
    setattr(mine, column, value)
    return await off_loop(context.services.store.add, mine)  # type: ignore[return-value]


async def on_settings(update: Update, context: FactoryContext) -> None:
    """/settings shows the defaults; "/settings language ru" or "/settings preset none" changes one."""
    chat = update.effective_chat.id
    mine = await chat_defaults(context, chat)
    if context.args:
        what, value = context.args[0].lower(), " ".join(context.args[1:]).strip()
        try:
            mine = await save(context, chat, what, None if value.lower() in NONE_WORDS else value)
        except InputError as error:
            await update.effective_message.reply_text(f"⚠️ {error}")
            return
    await update.effective_message.reply_text(settings_text(mine), reply_markup=settings_keyboard())


async def on_setting_menu(update: Update, context: FactoryContext) -> None:
    """A default tapped: its choices."""
    query = update.callback_query
    await query.answer()
    what = query.data.split(":", 1)[1]
    choices = {"preset": list(await off_loop(context.services.presets)), "language": list(LANGUAGES),
               "captions": list(CAPTION_KINDS), "review": ["on", "off"]}[what]
    await query.edit_message_text(f"Default {what}:", reply_markup=choices_keyboard(what, choices))


async def on_setting_value(update: Update, context: FactoryContext) -> None:
    """A value tapped: kept, and the defaults shown again."""
    query = update.callback_query
    _, what, value = query.data.split(":", 2)
    try:
        mine = await save(context, update.effective_chat.id, what, None if value in NONE_WORDS else value)
    except InputError as error:
        await query.answer(str(error)[:190], show_alert=True)
        return
    await query.answer("Saved")
    await query.edit_message_text(settings_text(mine), reply_markup=settings_keyboard())
