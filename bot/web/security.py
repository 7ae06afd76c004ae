"""The console's session cookie: an opaque random token (bot.access keeps its HMAC and expiry).

The console's login form sends the counsellor code once; the server answers with an HttpOnly,
SameSite=Strict cookie holding a session token, never the code. Pure functions, no web framework.
"""
from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Optional

COOKIE = "guichet_conseiller"


def cookie_from_header(header: Optional[str]) -> Optional[str]:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None
