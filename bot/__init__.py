"""Telegram front end over the engine (python-telegram-bot); thin by design."""
