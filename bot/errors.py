"""What the chat hears when a handler fails: one plain sentence, never a traceback or a secret."""

from __future__ import annotations

import logging

from telegram import Update

from bot.delivery import safely
from bot.redact import for_chat
from bot.services import FactoryContext
from engine.errors import VideoFactoryError

log = logging.getLogger(__name__)


async def on_error(update: object, context: FactoryContext) -> None:
    """A handler failed: the log gets the details, the chat a plain sentence."""
    log.error("a handler failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        problem = for_chat(context.error) if isinstance(context.error, VideoFactoryError) else "something went wrong on our side"
        await safely(context.bot.send_message(update.effective_chat.id, f"⚠️ {problem}"))
