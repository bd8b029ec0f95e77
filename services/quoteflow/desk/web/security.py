"""Sessions, CSRF and response headers.

A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure over TLS);
the database keeps only its sha256 and the session's CSRF token, which every form
carries in a hidden field. The login form, before any session, uses a double-submit
cookie. With ``identity_header`` set (an OIDC proxy in front), the proxy's user name is
trusted and a session is opened for it.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response

from quoteflow.desk import accounts
from quoteflow.desk.settings import DeskSettings
from quoteflow.desk.store import DeskStore, now

SESSION_COOKIE = "desk_session"
LOGIN_CSRF_COOKIE = "desk_login_csrf"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@dataclass(frozen=True)
class User:
    username: str
    role: str
    csrf: str


class LoginRequired(Exception):
    pass


def secure(request: Request, settings: DeskSettings) -> bool:
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str,
               max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=secure(request, request.app.state.settings), path="/")


async def open_session(request: Request, response: Response, username: str) -> None:
    settings: DeskSettings = request.app.state.settings
    token, csrf = accounts.new_token(), accounts.new_token()
    ttl = dt.timedelta(hours=settings.session_hours)
    await request.app.state.store.open_session(accounts.token_digest(token), username, csrf,
                                               now() + ttl)
    set_cookie(response, request, SESSION_COOKIE, token, int(ttl.total_seconds()))


async def _from_proxy(request: Request, store: DeskStore) -> User | None:
    settings: DeskSettings = request.app.state.settings
    name = request.headers.get(settings.identity_header or "", "").strip()
    if not name:
        return None
    role = request.headers.get(settings.identity_role_header or "", "agent").strip()
    if role not in accounts.ROLES:
        raise HTTPException(403, f"the identity proxy gave role {role!r}: agent or reviewer")
    if await store.user(name) is None:
        await store.add_user(name, role, "!proxy")  # no password: never logs in locally
    # the CSRF token of a proxied user is bound to the user name (no cookie needed)
    key = request.app.state.csrf_key
    return User(name, role, hmac.new(key, name.encode(), "sha256").hexdigest())


async def current_user(request: Request) -> User | None:
    store: DeskStore = request.app.state.store
    if request.app.state.settings.identity_header:
        return await _from_proxy(request, store)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = await store.session(accounts.token_digest(token))
    return User(row["username"], row["role"], row["csrf"]) if row else None


async def require_user(request: Request) -> User:
    user = await current_user(request)
    if user is None:
        raise LoginRequired
    return user


async def require_reviewer(user: Annotated[User, Depends(require_user)]) -> User:
    if user.role != "reviewer":
        raise HTTPException(403, "only reviewers work the queue")
    return user


UserDep = Annotated[User, Depends(require_user)]
ReviewerDep = Annotated[User, Depends(require_reviewer)]


def check_csrf(expected: str | None, sent: object) -> None:
    """Refuse a form without the right token (403, with the reason)."""
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise HTTPException(403, "the form's security token is missing or out of date: "
                                 "reload the page and submit again")
