"""Who may do what: one gate every update passes before any handler, and a job's owner check for buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.services import FactoryContext
from engine.tables import Job


async def gate(update: object, context: FactoryContext) -> None:
    """Let allowed users and chats through; answer everyone else politely and stop the update here."""
    if not isinstance(update, Update):
        return
    user = update.effective_user.id if update.effective_user else None
    chat = update.effective_chat.id if update.effective_chat else None
    if context.services.access.permits(user, chat):
        return
    # Callback queries must be answered even when refused, or the button spins for a while.
    if update.callback_query:
        await update.callback_query.answer("This bot is private.")
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
        job = context.services.jobs.get(int(query.data.split(":")[1]))  # type: ignore[union-attr]
    except (IndexError, ValueError):
        job = None
    if job is None or job.chat_id != update.effective_chat.id:  # type: ignore[union-attr]
        await query.answer("That video is not yours.")  # type: ignore[union-attr]
        return None
    return job
