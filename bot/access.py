"""Who may do what: one gate every update passes before any handler, and a job's owner check for buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.services import FactoryContext, off_loop
from engine.tables import Job


ACTING_COMMANDS = ("/cancel", "/settings", "/abtest", "/stats")  # with arguments, these change something


def acts(update: Update) -> bool:
    """Whether an update changes something: any button, or a command that takes action by its arguments."""
    if update.callback_query is not None:
        return True
    text = (update.message.text or "") if update.message else ""
    words = text.split()
    return len(words) > 1 and words[0].split("@")[0].lower() in ACTING_COMMANDS


async def gate(update: object, context: FactoryContext) -> None:
    """Let allowed users and chats through; answer everyone else politely and stop the update here.

    In a chat that is allowed as a whole, its members may ask and read; changing anything (every button,
    /cancel, /settings …) needs a user who is allowed by name. Edits and channel posts are not requests.
    """
    if not isinstance(update, Update):
        return
    if update.edited_message or update.channel_post or update.edited_channel_post:
        raise ApplicationHandlerStop  # an edited old /cancel must not cancel again; channels have no sender
    if update.callback_query is not None and update.callback_query.message is None:
        await update.callback_query.answer("This button cannot be used here.")  # an inline-mode message
        raise ApplicationHandlerStop
    access = context.services.access
    user = update.effective_user.id if update.effective_user else None
    chat = update.effective_chat.id if update.effective_chat else None
    if access.permits(user, chat) and (not acts(update) or access.permits_user(user)):
        return
    # Callback queries must be answered even when refused, or the button spins for a while.
    if update.callback_query:
        await update.callback_query.answer("This bot is private." if not access.permits(user, chat)
                                           else "Only people allowed by name can do that here.")
    elif update.effective_message:
        await update.effective_message.reply_text(
            f"Sorry, this bot is private. Ask its owner to add your ID ({user}) to VF_TELEGRAM_ALLOWED."
        )
    raise ApplicationHandlerStop


def is_admin(update: Update, context: FactoryContext) -> bool:
    """Whether the sender may act on every chat's jobs (commands only: buttons act in their own chat)."""
    return context.services.access.is_admin(update.effective_user.id if update.effective_user else None)


async def pressed_job(update: Update, context: FactoryContext) -> Job | None:
    """The job a button names, if it belongs to the chat the button was pressed in; else say so."""
    query = update.callback_query
    try:
        job = await off_loop(context.services.jobs.get, int(query.data.split(":")[1]))  # type: ignore[union-attr]
    except (IndexError, ValueError):
        job = None
    if job is None or job.chat_id != update.effective_chat.id:  # type: ignore[union-attr]
        await query.answer("That video is not yours.")  # type: ignore[union-attr]
        return None
    return job
