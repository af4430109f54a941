"""Links into the web dashboard: one-time login links the bot makes for an allowed user, and expiring
download links for files too large for Telegram.

Only a digest of each login link's secret is kept, so the database never holds a usable link;
download links are signed with the dashboard's secret and carry their own time.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from sqlalchemy import update
from sqlmodel import Session, col

from engine.config import Settings
from engine.errors import ConfigError
from engine.store import Store, utcnow
from engine.tables import WebLogin

LINK_MINUTES = 10.0
SECRET_FILE = "web-secret"


@dataclass(frozen=True)
class Visitor:
    """Who a login link (or the password) lets in."""

    user_id: int | None  # None: the password's admin, who is nobody's chat
    admin: bool


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class LoginBook:
    """Makes and redeems one-time login links."""

    def __init__(self, store: Store, minutes: float = LINK_MINUTES) -> None:
        self.store, self.minutes = store, minutes

    def issue(self, user_id: int, admin: bool, now: datetime | None = None) -> str:
        """A new link secret for this user, good for `minutes` and one use."""
        secret = secrets.token_urlsafe(32)
        now = now or utcnow()
        self.store.add(WebLogin(key=_key(secret), user_id=user_id, admin=admin, created=now,
                                expires=now + timedelta(minutes=self.minutes)))
        return secret

    def redeem(self, secret: str, now: datetime | None = None) -> Visitor | None:
        """The visitor a link lets in, marking it used; None for an unknown, used or expired link."""
        now = now or utcnow()
        with Session(self.store.engine) as session:
            # One UPDATE: two browsers racing with the same link cannot both win.
            taken = session.exec(update(WebLogin).where(  # type: ignore[call-overload]
                col(WebLogin.key) == _key(secret), col(WebLogin.used).is_(None), col(WebLogin.expires) > now,
            ).values(used=now))
            session.commit()
            if taken.rowcount != 1:
                return None
            row = session.get(WebLogin, _key(secret))
            return Visitor(row.user_id, row.admin) if row is not None else None


def web_secret(settings: Settings) -> str:
    """VF_WEB_SECRET, or one made once and kept in the data dir (readable by its owner only)."""
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError as error:
        raise ConfigError(f"cannot keep the dashboard's secret in {path.parent}: {error.strerror}") from None


def download_link(secret: str, base_url: str, job_id: int, name: str) -> str:
    """An expiring link to one file of a job (`name` relative to its folder); no login needed."""
    token = URLSafeTimedSerializer(secret, salt="download").dumps([job_id, name])
    return f"{base_url.rstrip('/')}/download/{token}"


def read_download(secret: str, token: str, max_hours: float) -> tuple[int, str] | None:
    """The job and file a download link names, or None for a tampered or expired one."""
    try:
        job_id, name = URLSafeTimedSerializer(secret, salt="download").loads(token, max_age=max_hours * 3600)
    except (SignatureExpired, BadSignature):
        return None
    return int(job_id), str(name)
