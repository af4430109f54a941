"""`videofactory bot`: the bot's subcommand, which the engine's CLI finds through an entry point."""

from __future__ import annotations

import argparse

from engine.config import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bot until interrupted."""
    from bot.app import run_bot  # python-telegram-bot is loaded only when the bot runs

    return run_bot(settings)


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add `bot` to the CLI's subcommands."""
    bot = commands.add_parser("bot", help="run the Telegram bot")
    bot.set_defaults(handler=run)
