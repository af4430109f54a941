"""Who may use the factory: the Telegram users and chats allowed, and the admins among them.

The bot's gate and the dashboard's sessions read the same lists, so a user taken off
VF_TELEGRAM_ALLOWED loses the chat and the dashboard together.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import Settings
from engine.errors import ConfigError


def id_list(value: str, name: str) -> frozenset[int]:
    """Telegram user or chat IDs from a comma-separated setting; empty means none."""
    ids: set[int] = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(f"{name}: '{part}' is not a Telegram user or chat ID") from None
    return frozenset(ids)


@dataclass(frozen=True)
class Access:
    """Who may use the bot (VF_TELEGRAM_ALLOWED, users or chats) and who may act on every chat's jobs (admins)."""

    allowed: frozenset[int]
    admins: frozenset[int]

    @staticmethod
    def of(settings: Settings) -> Access:
        """The lists from the settings; the admins are always allowed."""
        admins = id_list(settings.telegram_admins, "VF_TELEGRAM_ADMINS")
        return Access(id_list(settings.telegram_allowed, "VF_TELEGRAM_ALLOWED") | admins, admins)

    def permits(self, user: int | None, chat: int | None) -> bool:
        """Whether this user, or everyone in this chat, may use the bot."""
        return user in self.allowed or chat in self.allowed

    def permits_user(self, user: int | None) -> bool:
        """Whether this user is allowed by name (needed to change anything in a chat allowed as a whole)."""
        return user in self.allowed

    def is_admin(self, user: int | None) -> bool:
        """Whether this user may see and stop every chat's jobs."""
        return user in self.admins
