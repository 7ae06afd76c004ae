"""Counsellor sessions of the console: a signed cookie, never the secret itself.

The console's login form sends the counsellor code (GUICHET_AGENT_TOKEN); the server answers with an
HttpOnly cookie `nonce.expiry.signature` (HMAC-SHA256 with that secret). Pure functions, no web framework.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from http.cookies import SimpleCookie
from typing import Optional

COOKIE = "guichet_conseiller"
LIFETIME_S = 10 * 3600  # one working day


def _signature(secret: str, nonce: str, expiry: int) -> str:
    return hmac.new(secret.encode(), f"console:{nonce}:{expiry}".encode(), hashlib.sha256).hexdigest()


def issue(secret: str, now: Optional[float] = None) -> str:
    nonce = secrets.token_hex(16)
    expiry = int((now if now is not None else time.time()) + LIFETIME_S)
    return f"{nonce}.{expiry}.{_signature(secret, nonce, expiry)}"


def valid(value: Optional[str], secret: str, now: Optional[float] = None) -> bool:
    if not value or not secret:
        return False
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    nonce, expiry, signature = parts[0], int(parts[1]), parts[2]
    if expiry < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature, _signature(secret, nonce, expiry))


def code_matches(code: object, secret: str) -> bool:
    return isinstance(code, str) and bool(secret) and hmac.compare_digest(code.encode(), secret.encode())


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


def is_counsellor(cookie_value: Optional[str], secret: Optional[str]) -> bool:
    """Without a configured secret (development), the console is open; otherwise a valid session."""
    if not secret:
        return True
    return valid(cookie_value, secret)
