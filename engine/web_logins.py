"""Links into the web dashboard and its sessions: one-time login links the bot makes for an allowed user,
sessions kept on the server, and expiring download links for files too large for Telegram.

Only a digest of each login link's and session's secret is kept, so the database never holds a usable
link or cookie; download links are signed with the dashboard's secret and carry their own time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.access import Access
from engine.config import Settings
from engine.errors import ConfigError
from engine.store import Store, as_utc, utcnow
from engine.tables import WebLogin, WebSession

LINK_MINUTES = 10.0
ADMIN_SESSION_HOURS = 12.0  # an admin sees every chat's jobs: a lost laptop's cookie should not last a week
USER_SESSION_HOURS = 7 * 24.0
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


def password_mark(secret: str, password: SecretStr | None) -> str | None:
    """A keyed digest of the admin password: sessions opened with another password no longer count."""
    if password is None:
        return None
    return hmac.new(secret.encode(), password.get_secret_value().encode(), hashlib.sha256).hexdigest()


class SessionBook:
    """Opens, finds and ends dashboard sessions; each request is judged by the row, not by the cookie alone."""

    def __init__(self, store: Store, access: Access, mark: str | None) -> None:
        self.store, self.access, self.mark = store, access, mark

    def open(self, visitor: Visitor, now: datetime | None = None) -> str:
        """A new session's secret for this visitor (12 hours for an admin, 7 days for a user)."""
        secret, now = secrets.token_urlsafe(32), now or utcnow()
        hours = ADMIN_SESSION_HOURS if visitor.admin else USER_SESSION_HOURS
        self.store.add(WebSession(key=_key(secret), user_id=visitor.user_id, admin=visitor.admin, created=now,
                                  expires=now + timedelta(hours=hours),
                                  password_mark=self.mark if visitor.user_id is None else None))
        return secret

    def find(self, secret: str, now: datetime | None = None) -> Visitor | None:
        """Who a session's secret lets in now; None for an unknown, ended or expired one, or one that lost its right."""
        now = now or utcnow()
        with Session(self.store.engine) as session:
            row = session.get(WebSession, _key(secret))
        if row is None or row.ended is not None or as_utc(row.expires) <= now or not self._still_allowed(row):
            return None
        return Visitor(row.user_id, row.admin and (row.user_id is None or self.access.is_admin(row.user_id)))

    def end(self, secret: str, now: datetime | None = None) -> None:
        """End one session (logging out)."""
        self._end(col(WebSession.key) == _key(secret), now)

    def end_lapsed(self, now: datetime | None = None) -> int:
        """End every session whose user lost access or whose password changed; how many (run at start)."""
        with Session(self.store.engine) as session:
            rows = list(session.exec(select(WebSession).where(col(WebSession.ended).is_(None))))
        lapsed = [row.key for row in rows if not self._still_allowed(row)]
        if lapsed:
            self._end(col(WebSession.key).in_(lapsed), now)
        return len(lapsed)

    def _still_allowed(self, row: WebSession) -> bool:
        if row.user_id is None:  # the password's admin: only while that same password is set
            return self.mark is not None and row.password_mark is not None and hmac.compare_digest(
                row.password_mark, self.mark)
        return self.access.permits_user(row.user_id)

    def _end(self, which: object, now: datetime | None) -> None:
        with Session(self.store.engine) as session:
            session.exec(update(WebSession).where(  # type: ignore[call-overload]
                which, col(WebSession.ended).is_(None)).values(ended=now or utcnow()))
            session.commit()


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
