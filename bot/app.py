"""The bot's entry point; the conversation itself is built in the Telegram bot issue."""

from __future__ import annotations

import sys

from engine.config import Settings
from engine.errors import ConfigError


def run_bot(settings: Settings) -> int:
    """Start the bot with long polling; refuses clearly until it is configured and built."""
    if settings.telegram_token is None:
        raise ConfigError("VF_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set it")
    print("the Telegram bot is not part of this release yet; use `videofactory make`", file=sys.stderr)
    return 1
