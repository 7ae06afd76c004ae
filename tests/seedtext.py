"""Independent extraction of contacts from the seed texts, for fidelity tests."""
import re
import unicodedata
from pathlib import Path
from typing import Set

SOURCES = Path(__file__).resolve().parent.parent / "knowledge" / "sources"
REFERENTIEL = ("001_31100f34f43a4d2f.txt", "000_65e5a4bac09b348f.txt")

_TAGS = re.compile(r"<[^>]+>")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_PHONE = re.compile(r"(?<![\d])0\s?\d(?:\s?\d){8}(?!\d)")
_SHORT_PHONE = re.compile(r"(?<![\d\w,.])(?:3\d\s?\d\d|116\s?\d{3})(?![\d\w])")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\")]+|\b[\w-]+(?:\.[\w-]+)*\.(?:fr|com|org|net|eu)\b[^\s<>\")]*")


def seed_text(name: str) -> str:
    return _TAGS.sub(" ", (SOURCES / name).read_text(encoding="utf-8"))


def phone_key(value: str) -> str:
    return re.sub(r"\D", "", value)


def url_key(value: str) -> str:
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c)).lower().rstrip(".,;:/")
    value = re.sub(r"^https?://", "", value)
    return re.sub(r"^www\.", "", value)


def emails(text: str) -> Set[str]:
    return {e.lower().rstrip(".") for e in _EMAIL.findall(text)}


def phones(text: str) -> Set[str]:
    found = {phone_key(p) for p in _LONG_PHONE.findall(text)}
    rest = _LONG_PHONE.sub(" ", text)
    found |= {phone_key(p) for p in _SHORT_PHONE.findall(rest)}
    return found


def urls(text: str) -> Set[str]:
    without_emails = _EMAIL.sub(" ", text)
    return {url_key(u) for u in _URL.findall(without_emails)}
