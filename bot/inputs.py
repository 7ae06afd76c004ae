"""What arrives from a person, made safe before anything else sees or stores it.

Pure functions (no Rasa): redaction of personal data (RGPD), a length limit, the cases Guichet
answers without the NLU (empty, emoji only, another language), and sanitised metadata.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

from bot.text import fold

MAX_CHARS = 1000  # longer messages are cut (a request never needs more)

_REDACTIONS = (
    # social-security number (NIR): sex, year, month, département (2A/2B too), commune, order, key
    ("[numéro de sécurité sociale]", re.compile(
        r"(?<!\d)[12][\s.]?\d{2}[\s.]?(?:0[1-9]|1[0-2]|[2-9]\d)[\s.]?(?:\d{2}|2[ab])[\s.]?\d{3}[\s.]?\d{3}(?:[\s.]?\d{2})?(?!\d)",
        re.IGNORECASE)),
    ("[IBAN]", re.compile(r"\b[a-z]{2}\d{2}(?:[ ]?[a-z0-9]{4}){2,7}(?:[ ]?[a-z0-9]{1,4})?\b", re.IGNORECASE)),
    ("[adresse électronique]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("[téléphone]", re.compile(r"(?<![\w+])(?:\+33[\s.-]?|0033[\s.-]?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")),
    ("[date]", re.compile(
        r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"
        r"|\b(?:ne|nee|né|née)e?s? le \d{1,2}(?:er)? \w+ \d{4}\b", re.IGNORECASE)),
)

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_STOPWORDS = {
    "fr": set("je j me mon ma mes le la les un une des de du et est pour pas ne que qui avec sur au aux vous votre il elle on a ai suis".split()),
    "en": set("the is my i you to how what can please help me with for of and a an do does need want have this that".split()),
    "es": set("el la los las mi que como por favor ayuda quiero necesito tengo puedo donde para con una un es de y".split()),
}

OTHER_LANGUAGE = (
    "Guichet ne comprend que le français. Un conseiller France services peut vous recevoir et vous aider "
    "dans vos démarches ; n'hésitez pas à venir avec une personne qui parle français si besoin."
)
EMPTY = "Votre message est vide. Décrivez en quelques mots la démarche qui vous amène, ou écrivez « menu »."
NO_WORDS = (
    "Je n'ai pas trouvé de mots dans votre message. Décrivez en quelques mots la démarche qui vous amène, "
    "ou écrivez « menu »."
)
CUT = "Votre message était très long : seuls ses {n} premiers caractères ont été pris en compte."
UNAVAILABLE = (
    "Le service est momentanément indisponible. Votre conversation est conservée : réessayez dans quelques "
    "instants, ou adressez-vous à un conseiller France services."
)

ALLOWED_CHANNELS = {"borne", "chat", "conseiller"}
# The payloads of Guichet's buttons (docs/api.md), with their optional JSON entities.
BUTTON_PAYLOAD = re.compile(r"^/(affirm|deny|je_ne_sais_pas|choisir|menu|demander_conseiller)(\{[^\n]{0,300}\})?$")


MAX_SENDER = 120


def conversation_id(sender: object) -> str:
    """The sender id as the tracker store can key it: lone surrogates (not encodable in UTF-8) and
    control characters (NUL is refused by PostgreSQL) become U+FFFD — either one made Rasa's SQL
    tracker store exit the whole server."""
    text = str(sender or "default")[:MAX_SENDER]
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cs", "Cc") else ch for ch in text)


def json_object(body: bytes) -> Optional[Dict[str, object]]:
    """A request body as a JSON object, or None (invalid JSON, not an object, nested thousands deep).
    Invalid UTF-8 is decoded with replacement characters; an empty body is an empty object."""
    try:
        data = json.loads(body.decode("utf-8", errors="replace") or "{}")
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def redact(text: str) -> str:
    for placeholder, pattern in _REDACTIONS:
        text = pattern.sub(placeholder, text)
    return text


def clean(text: str) -> str:
    """Unicode normalised, control characters removed (newlines become spaces)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text).strip()


def language(text: str) -> str:
    """'fr', 'en', 'es', 'ar' or 'fr' when unsure (the bot's own language wins ties)."""
    if _ARABIC.search(text):
        letters = _LETTER.findall(text)
        if letters and sum(1 for ch in letters if _ARABIC.match(ch)) / len(letters) > 0.5:
            return "ar"
    words = re.findall(r"[a-z]+", fold(text))
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(("en", "es"), key=lambda lang: scores[lang])
    if scores[best] >= 2 and scores[best] > scores["fr"] * 1.5:
        return best
    return "fr"


@dataclass
class Prepared:
    text: str
    metadata: Dict[str, object]
    notices: List[str] = field(default_factory=list)  # said before the bot's own answer
    reply: Optional[str] = None  # answered directly, without the NLU
    custom: Optional[Dict[str, object]] = None


def agent_proof(secret: str, sender: str) -> str:
    """Proof that the channel checked the counsellor token, bound to the conversation (never the token)."""
    return hmac.new(secret.encode(), f"agent:{sender}".encode(), hashlib.sha256).hexdigest()


def sanitise_metadata(metadata: object, sender: str, secret: Optional[str]) -> Dict[str, object]:
    """Only what Guichet uses is kept; the counsellor token is checked here and never stored.
    A claim of the agent audience without the right token (or with no code at all) is served as public."""
    metadata = metadata if isinstance(metadata, Mapping) else {}
    result: Dict[str, object] = {"audience": "public"}
    if metadata.get("audience") == "agent" and secret:
        token = metadata.get("agent_token")
        if isinstance(token, str) and hmac.compare_digest(token.encode(errors="surrogatepass"), secret.encode()):
            result["audience"] = "agent"
            result["agent_proof"] = agent_proof(secret, sender)
    channel = metadata.get("channel")
    if isinstance(channel, str) and channel in ALLOWED_CHANNELS:
        result["channel"] = channel
        if channel in ("borne", "chat"):
            result["audience"] = "public"
            result.pop("agent_proof", None)
    structure = metadata.get("structure")
    if isinstance(structure, str) and structure.strip():
        result["structure"] = structure.strip()[:80]
    return result


def prepare(text: object, metadata: object, sender: str, secret: Optional[str]) -> Prepared:
    meta = sanitise_metadata(metadata, sender, secret)
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if BUTTON_PAYLOAD.match(text):  # a button of Guichet's replies: an intent, not words of the person
        return Prepared(clean(text)[:MAX_CHARS], meta)
    # Any other leading "/" is typed text: Rasa's own commands (/restart, /session_start…) and
    # unknown intents are not for the public.
    text = clean(text).lstrip("/")
    notices = []
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notices.append(CUT.format(n=MAX_CHARS))
    text = redact(text)
    if not text:
        return Prepared("", meta, notices, reply=EMPTY, custom={"type": "invalid", "reason": "empty"})
    if not _LETTER.search(text):
        return Prepared(text, meta, notices, reply=NO_WORDS, custom={"type": "invalid", "reason": "no_words"})
    lang = language(text)
    if lang != "fr":
        return Prepared(text, meta, notices, reply=OTHER_LANGUAGE, custom={"type": "other_language", "language": lang})
    return Prepared(text, meta, notices)
