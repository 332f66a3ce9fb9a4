"""People who use the web app and the REST API: users, browser sessions, API tokens.

Passwords are hashed with argon2id; session and API tokens are random and only their
SHA-256 digests are stored, so neither a database copy nor a log line can be replayed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicetrade_spectrum.store._models import ApiToken, SignInLink, User, WebSession
from servicetrade_spectrum.store._time import as_utc as _aware
from servicetrade_spectrum.store._time import utc_now as _now

__all__ = ["API_TOKEN_PREFIX", "SESSION_LIFETIME", "ApiTokenRecord", "BrowserSession",
           "UserRecord", "Users", "new_user_problems", "normalize_email"]

SESSION_LIFETIME = timedelta(hours=12)
API_TOKEN_PREFIX = "sts_"  # noqa: S105 (a visible prefix, not a secret)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only a timing decoy")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def new_user_problems(email: str, password: str) -> dict[str, str]:
    """What is wrong with a new user's email (normalized) and password, by field; empty
    when they can be stored. The users page shows each beside its field."""
    problems: dict[str, str] = {}
    if "@" not in email or len(email) > 254:
        problems["email"] = (f"'{email}' is not an email address: enter the address the "
                             "person signs in with (e.g. name@example.com).")
    short = _password_problem(password)
    if short:
        problems["password"] = short
    return problems


def _password_problem(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        return (f"The password is too short: use at least {MIN_PASSWORD_LENGTH} "
                "characters.")
    return ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class UserRecord:
    id: int
    email: str
    account_id: int
    account_name: str
    is_admin: bool


@dataclass(frozen=True)
class BrowserSession:
    user: UserRecord
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class ApiTokenRecord:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


class Users:
    """The users table and what hangs off it. Reached as ``store.users``."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]]) -> None:
        self._session = session

    @staticmethod
    def _record(user: User) -> UserRecord:
        return UserRecord(id=user.id, email=user.email, account_id=user.account_id,
                          account_name=user.account.name if user.account else "",
                          is_admin=user.is_admin)

    # -- users ---------------------------------------------------------------------------------
    def add(self, email: str, *, account_id: int, password: str,
            is_admin: bool = False) -> UserRecord:
        email = normalize_email(email)
        problems = new_user_problems(email, password)
        if problems:
            raise ValueError(" ".join(problems.values()))
        user = User(account_id=account_id, email=email, password_hash=_hasher.hash(password),
                    is_admin=is_admin, created_at=_now())
        try:
            with self._session() as session:
                session.add(user)
                session.flush()
                return self._record(user)
        except IntegrityError as exc:
            raise ValueError(f"A user with email {email} already exists.") from exc

    def get(self, user_id: int) -> UserRecord | None:
        with self._session() as session:
            user = session.get(User, user_id)
            return self._record(user) if user is not None else None

    def by_email(self, email: str) -> UserRecord | None:
        with self._session() as session:
            user = session.scalar(select(User).where(User.email == normalize_email(email)))
            return self._record(user) if user is not None else None

    def of_account(self, account_id: int) -> list[UserRecord]:
        with self._session() as session:
            rows = session.scalars(select(User).where(User.account_id == account_id)
                                   .order_by(User.email))
            return [self._record(user) for user in rows]

    def set_password(self, user_id: int, password: str) -> None:
        short = _password_problem(password)
        if short:
            raise ValueError(short)
        with self._session() as session:
            user = session.get(User, user_id)
            if user is not None:
                user.password_hash = _hasher.hash(password)
                session.execute(delete(WebSession).where(WebSession.user_id == user_id))

    def set_admin(self, account_id: int, user_id: int, is_admin: bool) -> UserRecord | None:
        """Give or take the admin role of one of the account's users (the users page).
        Another account's user is None, like one that does not exist."""
        with self._session() as session:
            user = session.get(User, user_id)
            if user is None or user.account_id != account_id:
                return None
            user.is_admin = is_admin
            return self._record(user)

    def authenticate(self, email: str, password: str) -> UserRecord | None:
        """The user, when the password is theirs; None otherwise (same time either way)."""
        with self._session() as session:
            user = session.scalar(select(User).where(User.email == normalize_email(email)))
            try:
                _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return None
            if user is None:
                return None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            return self._record(user)

    # -- browser sessions ------------------------------------------------------------------------
    def start_session(self, user_id: int) -> tuple[str, BrowserSession]:
        """A new session: (the cookie's token, the session). The token is not stored."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with self._session() as session:
            session.execute(delete(WebSession).where(WebSession.expires_at < now))
            row = WebSession(token_digest=_digest(token), user_id=user_id,
                             csrf_token=secrets.token_urlsafe(32), created_at=now,
                             expires_at=now + SESSION_LIFETIME)
            session.add(row)
            user = session.get(User, user_id)
            assert user is not None
            return token, BrowserSession(self._record(user), row.csrf_token, row.expires_at)

    def session_for(self, token: str) -> BrowserSession | None:
        if not token:
            return None
        with self._session() as session:
            row = session.get(WebSession, _digest(token))
            if row is None or _aware(row.expires_at) < _now():
                return None
            user = session.get(User, row.user_id)
            if user is None:
                return None
            return BrowserSession(self._record(user), row.csrf_token, _aware(row.expires_at))

    def end_session(self, token: str) -> None:
        with self._session() as session:
            session.execute(delete(WebSession).where(WebSession.token_digest == _digest(token)))

    # -- one-time sign-in links ------------------------------------------------------------------
    def create_sign_in_link(self, user_id: int, lifetime: timedelta = timedelta(minutes=15)
                            ) -> str:
        """A token for ``/login/link/<token>``: signs the user in once, within ``lifetime``."""
        token = secrets.token_urlsafe(32)
        with self._session() as session:
            session.add(SignInLink(token_digest=_digest(token), user_id=user_id,
                                   expires_at=_now() + lifetime))
        return token

    def use_sign_in_link(self, token: str) -> UserRecord | None:
        """The link's user, once: the link is deleted whether or not it was still good."""
        with self._session() as session:
            row = session.get(SignInLink, _digest(token))
            if row is None:
                return None
            session.delete(row)
            if _aware(row.expires_at) < _now():
                return None
            user = session.get(User, row.user_id)
            return self._record(user) if user is not None else None

    # -- API tokens ---------------------------------------------------------------------------
    def create_token(self, user_id: int, name: str = "") -> str:
        """A new API token for the user; shown once, only its digest is kept."""
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._session() as session:
            session.add(ApiToken(user_id=user_id, name=name, token_digest=_digest(token),
                                 created_at=_now(), last_used_at=None))
        return token

    def user_for_token(self, token: str) -> UserRecord | None:
        if not token.startswith(API_TOKEN_PREFIX):
            return None
        with self._session() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_digest == _digest(token)))
            if row is None:
                return None
            now = _now()
            if row.last_used_at is None or now - _aware(row.last_used_at) > timedelta(minutes=1):
                row.last_used_at = now  # at most a write a minute per token
            user = session.get(User, row.user_id)
            return self._record(user) if user is not None else None

    def tokens(self, user_id: int) -> list[ApiTokenRecord]:
        with self._session() as session:
            rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                   .order_by(ApiToken.id))
            return [ApiTokenRecord(r.id, r.name, _aware(r.created_at),
                                   _aware(r.last_used_at) if r.last_used_at else None)
                    for r in rows]

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        with self._session() as session:
            result = session.execute(delete(ApiToken).where(ApiToken.id == token_id,
                                                            ApiToken.user_id == user_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]
