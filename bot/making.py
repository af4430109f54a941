"""Asking for a video: a topic (or /new), a preset, a length; then it is queued with the runner."""

from __future__ import annotations

from telegram import Message, Update

from bot.keyboards import LENGTHS, options_keyboard, presets_keyboard
from bot.redact import for_chat
from bot.services import Draft, FactoryContext, off_loop
from engine.errors import VideoFactoryError
from engine.jobs import JobState, Origin
from engine.models import JobRequest
from engine.stages.longform import minutes_of
from engine.stages.script import check_topic
from engine.tables import ChatSettings

MAX_JOBS_PER_CHAT = 2  # queued or running at once, per chat


def options_text(draft: Draft) -> str:
    """What will be made, and what can still be chosen."""
    own = [what for what, path in (("your script", draft.script_file), ("your voice-over", draft.voiceover)) if path]
    text = f"«{draft.topic}» with {draft.preset}" + (f", using {' and '.join(own)}." if own else ".")
    if not own:  # your own script or voice sets the length itself
        text += "\nHow long? You may also send a .txt script or a voice message first."
    return text


async def chat_defaults(context: FactoryContext, chat: int) -> ChatSettings:
    """A chat's own defaults (empty for a chat that never set any)."""
    return await off_loop(context.services.store.get, ChatSettings, chat) or ChatSettings(chat_id=chat)


async def offer(message: Message, context: FactoryContext) -> None:
    """Ask for what the draft still lacks: the topic, the preset, or the length."""
    draft = context.draft
    if not draft.topic:
        await message.reply_text("Got it. Now send me the topic: it becomes the video's title.")
        return
    presets = await off_loop(context.services.presets)
    default = (await chat_defaults(context, message.chat_id)).preset
    if not draft.preset and default in presets:
        draft.preset = default
    if draft.preset:
        await message.reply_text(options_text(draft), reply_markup=options_keyboard(bool(draft.script_file or draft.voiceover)))
    else:
        await message.reply_text(f"«{draft.topic}»: which channel preset?", reply_markup=presets_keyboard(presets))


async def on_new(update: Update, context: FactoryContext) -> None:
    """/new: start a video from scratch."""
    context.chat_data.draft = Draft()
    await update.effective_message.reply_text(
        "What is the video about? Send me the topic, or a .txt file with your script, "
        "or a voice message to narrate it yourself."
    )


async def on_topic(update: Update, context: FactoryContext) -> None:
    """A plain message: the video's topic."""
    message = update.effective_message
    try:
        topic = check_topic(message.text or "")
    except VideoFactoryError as error:
        await message.reply_text(f"⚠️ {error}")
        return
    context.draft.topic = topic
    await offer(message, context)


async def on_preset(update: Update, context: FactoryContext) -> None:
    """A preset tapped on the keyboard."""
    query = update.callback_query
    await query.answer()
    draft = context.draft
    if not draft.topic:
        await query.edit_message_text("Send me the topic first.")
        return
    name = query.data.split(":", 1)[1]
    presets = await off_loop(context.services.presets)
    if name not in presets:
        await query.edit_message_text(f"The preset {name} is gone; pick another.",
                                      reply_markup=presets_keyboard(presets))
        return
    draft.preset = name
    await query.edit_message_text(options_text(draft),
                                  reply_markup=options_keyboard(bool(draft.script_file or draft.voiceover)))


async def on_pick(update: Update, context: FactoryContext) -> None:
    """"Another preset": the preset keyboard again."""
    query = update.callback_query
    await query.answer()
    context.draft.preset = None
    await query.edit_message_text("Which channel preset?",
                                  reply_markup=presets_keyboard(await off_loop(context.services.presets)))


def request_of_draft(draft: Draft, length: str, defaults: ChatSettings) -> JobRequest:
    """The draft and the chat's defaults as a request for the engine; a length of "20m" is a 20-minute documentary."""
    return JobRequest(topic=draft.topic or "", preset=draft.preset or "",
                      length=length if length in LENGTHS else None, minutes=minutes_of(length),
                      script_file=draft.script_file, voiceover=draft.voiceover,
                      language=defaults.language, caption_style=defaults.caption_style, voice=defaults.voice,
                      review=defaults.review)


async def on_go(update: Update, context: FactoryContext) -> None:
    """"Make it" (or a length): queue the job; its status message follows it from here."""
    query, chat, services = update.callback_query, update.effective_chat.id, context.services
    await query.answer()
    draft = context.draft
    if not draft.topic or not draft.preset:
        await query.edit_message_text("That choice has expired: send me the topic again.")
        return
    mine = await off_loop(services.jobs.find, states=[JobState.QUEUED, JobState.RUNNING], chat_id=chat)
    if len(mine) >= MAX_JOBS_PER_CHAT:
        await query.edit_message_text(
            f"You already have {MAX_JOBS_PER_CHAT} videos in the queue; wait for one.")
        return
    request = request_of_draft(draft, query.data.split(":", 1)[1], await chat_defaults(context, chat))
    context.chat_data.draft = Draft()
    ahead = services.runner.queue_length()
    status = await query.edit_message_text(
        f"«{request.topic}» with {request.preset}{f', {request.minutes} min in chapters' if request.minutes else ''}: queued"
        + (f", {ahead} job(s) ahead." if ahead else ", starting."))
    try:
        await off_loop(services.runner.submit, request, Origin("telegram", chat, status.message_id))
    except VideoFactoryError as error:
        await query.edit_message_text(f"⚠️ {for_chat(error)}")
