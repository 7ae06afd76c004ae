"""The three front doors, served by the Rasa server itself (same origin as the conversation).

Two Rasa input channels, declared in credentials.yml:
- `GuichetWebInput`: the pages (/conseiller, /borne, /chat), their assets (DSFR, socket.io client,
  Guichet's own CSS/JS — all from this server, never a CDN) and a small JSON API (counsellor login,
  knowledge-base search, quarterly figures, feedback).
- `GuichetSocketIOInput`: the socket.io conversation (Rasa's `socketio` contract: `session_request`,
  `user_uttered`, `bot_uttered`), with the same input preparation as the REST channel (redaction,
  limits, other languages), the public audience forced on the kiosk and the web chat, one
  `bot_uttered` event per reply (text, buttons and custom payload together) and, for the web chat,
  the conversation replayed from the tracker store after a page reload.
"""
from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot import services
from bot.channels import converse
from bot.config import PROJECT_ROOT, get_settings
from bot.conversation import Turn
from bot.inputs import json_object, prepare
from bot.web import security
from bot.web.pages import render_page

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
NODE_MODULES = PROJECT_ROOT / "node_modules"
ASSETS = {
    # URL prefix under /static/ -> directory (files are served only from inside these)
    "dsfr/": NODE_MODULES / "@gouvfr" / "dsfr" / "dist",
    "vendor/socket.io/": NODE_MODULES / "socket.io-client" / "dist",
    "guichet/": STATIC_DIR,
}
mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("font/woff", ".woff")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("text/javascript", ".js")

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
PAGES = ("conseiller", "borne", "chat")
MAX_API_BODY = 20_000

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)


def _security_headers(resp: HTTPResponse, frame_ancestors: str = "'self'") -> HTTPResponse:
    resp.headers["Content-Security-Policy"] = f"{CSP}; frame-ancestors {frame_ancestors}"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _error(message: str, status: int) -> HTTPResponse:
    return _security_headers(response.json({"error": message}, status=status))


def _secret() -> Optional[str]:
    return get_settings().agent_token


def is_counsellor(request: Request) -> bool:
    return security.is_counsellor(request.cookies.get(security.COOKIE), _secret())


def _json_body(request: Request) -> Optional[Dict[str, Any]]:
    body = request.body or b""
    return None if len(body) > MAX_API_BODY else json_object(body)


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Database work (short sessions, synchronous SQLAlchemy) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _search(query: str, operator: Optional[str], category: Optional[str]) -> List[Dict[str, Any]]:
    from bot.cards import card_text

    guichet = services.guichet()
    if query:
        demarches = [hit.demarche for hit in guichet.repo.search(query, operator=operator, category=category, limit=20)]
    else:
        demarches = guichet.repo.list(operator=operator, category=category)[:50]
    cards = []
    for d in demarches:
        operator_name = guichet.operators[d.operator].name
        cards.append(
            {
                "demarche": d.id,
                "title": d.title,
                "operator": d.operator,
                "operator_name": operator_name,
                "section": d.section,
                "category": d.category,
                "category_label": d.category_label,
                "label": d.label,
                "items": list(d.items),
                "action": d.action,
                "contacts": [
                    {"kind": c.kind, "value": c.value, "label": c.label, "audience": c.audience} for c in d.contacts
                ],
                "source": {
                    "document": d.source.document,
                    "operator": d.source.operator,
                    "section": d.source.section,
                    "line": d.source.line,
                },
                "card_text": card_text(d, operator_name),
            }
        )
    return cards


def _figures() -> Dict[str, Any]:
    from bot.report import ReportError, build_report, current_quarter

    quarter = current_quarter()
    try:
        report = build_report(services.tracker_database(), quarter, feedback_engine=services.database())
    except ReportError as exc:
        return {"quarter": quarter, "error": str(exc)}
    guichet = services.guichet()
    return {
        "quarter": quarter,
        "conversations": report.conversations,
        "by_channel": dict(report.by_channel),
        "by_operator": {guichet.operators[k].name if k in guichet.operators else k: v for k, v in report.by_operator.items()},
        "by_category": dict(report.by_category),
        "by_outcome": dict(report.by_outcome),
        "by_demarche": {_demarche_title(guichet, k): v for k, v in report.by_demarche.most_common(10)},
        "mean_questions": round(report.mean_questions, 2),
        "feedback": dict(report.feedback),
    }


def _demarche_title(guichet, demarche_id: str) -> str:
    demarche = guichet.repo.get(demarche_id)
    return f"{demarche.title} ({guichet.operators[demarche.operator].name})" if demarche else demarche_id


def _record_feedback(data: Dict[str, Any]) -> Optional[str]:
    """Stores one feedback; returns a French error message, or None when stored."""
    from bot import feedback as store

    channel = data.get("channel")
    session_id = data.get("session_id")
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        return "Conversation inconnue."
    demarche = data.get("demarche")
    if demarche is not None and (not isinstance(demarche, str) or services.guichet().repo.get(demarche) is None):
        return "Démarche inconnue."
    try:
        item = store.make_feedback(f"{channel}-{session_id}", demarche, channel, data.get("useful"), data.get("comment"))
    except store.FeedbackError as exc:
        return str(exc)
    store.record(services.database(), item)
    return None


async def _tracker_slots(app: Sanic, sender: str) -> Optional[Dict[str, Any]]:
    """The slots of a conversation, from Rasa's tracker store (None: unknown conversation)."""
    try:
        tracker = await app.ctx.agent.tracker_store.retrieve(sender)
    except Exception:  # noqa: BLE001
        logger.exception("Guichet: tracker of %s unavailable", sender)
        return None
    return dict(tracker.current_slot_values()) if tracker is not None else None


def _summary_page(slots: Dict[str, Any]) -> Optional[str]:
    from datetime import date

    from bot.web.pages import render_summary_page

    guichet = services.guichet()
    result = guichet.summary(Turn(intent="synthese", slots=slots, audience="public"))
    payload = next((r.custom for r in result.replies if r.custom and r.custom.get("type") == "summary"), None)
    if payload is None:
        return None
    return render_summary_page(payload, date.today().strftime("%d/%m/%Y"))


class GuichetWebInput(InputChannel):
    """Pages, assets and JSON API of the web front (no conversation: see GuichetSocketIOInput)."""

    @classmethod
    def name(cls) -> Text:
        return "guichet_web"

    def url_prefix(self) -> Text:
        # Rasa mounts channels under /webhooks/<prefix>; an absolute "/" puts the pages at the root.
        return "/"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        web = Blueprint("guichet_web", __name__)

        @web.route("/<page:conseiller|borne|chat>", methods=["GET"])
        async def page(request: Request, page: str) -> HTTPResponse:
            embedded = page == "chat" and request.args.get("integre") == "1"
            html = await _in_thread(render_page, page, {"embedded": embedded})
            # The web chat may be embedded in a structure's own site (widget.js); the others may not.
            return _security_headers(response.html(html), "*" if page == "chat" else "'self'")

        @web.route("/static/<path:path>", methods=["GET"])
        async def static(_request: Request, path: str) -> HTTPResponse:
            for prefix, base in ASSETS.items():
                if path.startswith(prefix):
                    target = (base / path[len(prefix):]).resolve()
                    if base.resolve() in target.parents and target.is_file():
                        resp = await response.file(str(target), mime_type=mimetypes.guess_type(str(target))[0])
                        resp.headers["Cache-Control"] = "public, max-age=3600"
                        resp.headers["X-Content-Type-Options"] = "nosniff"
                        return resp
            return _error("Fichier introuvable.", 404)

        @web.route("/api/conseiller/session", methods=["GET"])
        async def session_state(request: Request) -> HTTPResponse:
            return _security_headers(
                response.json({"counsellor": is_counsellor(request), "code_required": _secret() is not None})
            )

        @web.route("/api/conseiller/session", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            secret = _secret()
            data = _json_body(request)
            if data is None:
                return _error("Requête invalide.", 400)
            if secret is None:
                return _security_headers(response.json({"counsellor": True, "code_required": False}))
            if not security.code_matches(data.get("code"), secret):
                await asyncio.sleep(0.5)  # slows down guessing
                return _error("Code d'accès incorrect.", 403)
            resp = response.json({"counsellor": True, "code_required": True})
            resp.cookies[security.COOKIE] = security.issue(secret)
            cookie = resp.cookies[security.COOKIE]
            cookie["httponly"] = True
            cookie["samesite"] = "Strict"
            cookie["path"] = "/"
            cookie["max-age"] = security.LIFETIME_S
            if request.scheme == "https":
                cookie["secure"] = True
            return _security_headers(resp)

        @web.route("/api/conseiller/session", methods=["DELETE"])
        async def logout(_request: Request) -> HTTPResponse:
            resp = response.json({"counsellor": False})
            resp.cookies[security.COOKIE] = ""
            resp.cookies[security.COOKIE]["max-age"] = 0
            resp.cookies[security.COOKIE]["path"] = "/"
            return _security_headers(resp)

        @web.route("/api/recherche", methods=["GET"])
        async def search(request: Request) -> HTTPResponse:
            if not is_counsellor(request):
                return _error("Réservé aux conseillers France services : connectez-vous.", 401)
            query = (request.args.get("q") or "").strip()[:200]
            operator = request.args.get("operateur") or None
            category = request.args.get("categorie") or None
            guichet = await _in_thread(services.guichet)
            if operator is not None and operator not in guichet.operators:
                return _error("Opérateur inconnu.", 400)
            if category is not None and category not in ("niveau_1", "niveau_2", "urgent", "hors_bouquet"):
                return _error("Catégorie inconnue.", 400)
            if not query and operator is None and category is None:
                return _error("Indiquez des mots, un opérateur ou une catégorie.", 400)
            results = await _in_thread(_search, query, operator, category)
            return _security_headers(response.json({"results": results}))

        @web.route("/api/bilan", methods=["GET"])
        async def figures(request: Request) -> HTTPResponse:
            if not is_counsellor(request):
                return _error("Réservé aux conseillers France services : connectez-vous.", 401)
            return _security_headers(response.json(await _in_thread(_figures)))

        @web.route("/conseiller/synthese/<session_id>", methods=["GET"])
        async def printable_summary(request: Request, session_id: str) -> HTTPResponse:
            """The person's printable copy of the console conversation's case (public wording)."""
            if not is_counsellor(request):
                return _error("Réservé aux conseillers France services : connectez-vous.", 401)
            if not SESSION_ID.match(session_id):
                return _error("Conversation inconnue.", 404)
            slots = await _tracker_slots(request.app, f"conseiller-{session_id}")
            if slots is None:
                return _error("Conversation inconnue.", 404)
            html = await _in_thread(_summary_page, slots)
            if html is None:
                return _error("Aucune démarche à récapituler dans cette conversation.", 404)
            return _security_headers(response.html(html))

        @web.route("/api/avis", methods=["POST"])
        async def feedback(request: Request) -> HTTPResponse:
            data = _json_body(request)
            if data is None:
                return _error("Requête invalide : un objet JSON est attendu.", 400)
            problem = await _in_thread(_record_feedback, data)
            if problem:
                return _error(problem, 400)
            return _security_headers(response.json({"stored": True}, status=201))

        return web


# -- socket.io -------------------------------------------------------------------------------


class _SocketBlueprint(Blueprint):
    """Attaches the socket.io server to the Sanic app and remembers the app (for the tracker store)."""

    def __init__(self, sio: AsyncServer, path: str, holder: Dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio, self.ctx.path, self.ctx.holder = sio, path, holder

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        self.ctx.holder["app"] = app
        self.ctx.sio.attach(app, self.ctx.path)
        super().register(app, options)


def merge_replies(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One event per reply: a text message and the custom payload that follows it go together."""
    merged: List[Dict[str, Any]] = []
    for message in messages:
        item = {key: message[key] for key in ("text", "buttons", "custom") if message.get(key)}
        if not item:
            continue
        if "custom" in item and "text" not in item and merged and "text" in merged[-1] and "custom" not in merged[-1]:
            merged[-1]["custom"] = item["custom"]
        else:
            merged.append(item)
    return merged


def history_from_events(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The conversation as the page shows it, from the tracker's events (already redacted).

    A button's payload ("/affirm") is shown as the button's title, as it was on screen."""
    shown: List[Dict[str, Any]] = []
    pending: List[Dict[str, Any]] = []  # bot messages since the last user message
    last_buttons: List[Dict[str, Any]] = []

    def flush() -> None:
        shown.extend({"from": "bot", **item} for item in merge_replies(pending))
        pending.clear()

    for event in events:
        kind = event.get("event")
        if kind == "user":
            flush()
            text = event.get("text") or ""
            if text.startswith("/"):
                titles = [b.get("title") for b in last_buttons if b.get("payload") == text]
                if not titles:
                    continue  # a payload sent by the page itself (a kiosk home button…), shown by the reply
                text = titles[0]
            shown.append({"from": "user", "text": text})
        elif kind == "bot":
            data = event.get("data") or {}
            pending.append({"text": event.get("text"), "buttons": data.get("buttons"), "custom": data.get("custom")})
            if data.get("buttons"):
                last_buttons = data["buttons"]
    flush()
    return shown


class GuichetSocketIOInput(InputChannel):
    """socket.io for the web pages; the `channel` given at connection decides the audience."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        from bot.rasa_speedups import install

        install()
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(self, user_message_evt: str = "user_uttered", bot_message_evt: str = "bot_uttered",
                 socketio_path: str = "/socket.io") -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        holder: Dict[str, Any] = {}
        bp = _SocketBlueprint(sio, self.socketio_path, holder, "guichet_socketio", __name__)
        bot_evt, user_evt, name = self.bot_message_evt, self.user_message_evt, self.name()

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict[str, Any]] = None) -> bool:
            channel = (auth or {}).get("channel") if isinstance(auth, dict) else None
            if channel not in PAGES:
                channel = "chat"
            cookie = security.cookie_from_header(environ.get("HTTP_COOKIE"))
            agent = channel == "conseiller" and security.is_counsellor(cookie, _secret())
            await sio.save_session(sid, {"channel": channel, "agent": agent, "sender": None})
            return True

        @sio.on("session_request")
        async def session_request(sid: str, data: Optional[Dict[str, Any]] = None) -> None:
            session = await sio.get_session(sid)
            data = data if isinstance(data, dict) else {}
            requested = data.get("session_id")
            session_id = requested if isinstance(requested, str) and SESSION_ID.match(requested) else uuid.uuid4().hex
            sender = f"{session['channel']}-{session_id}"
            session["sender"] = sender
            await sio.save_session(sid, session)
            await sio.enter_room(sid, sender)
            await sio.emit("session_confirm", session_id, room=sid)
            if requested == session_id and data.get("history"):
                await sio.emit("history", await self._history(holder.get("app"), sender), room=sid)

        @sio.on(user_evt)
        async def handle_message(sid: str, data: Any) -> None:
            session = await sio.get_session(sid)
            sender = session.get("sender")
            if not sender:
                await sio.emit("session_expired", {}, room=sid)
                return
            data = data if isinstance(data, dict) else {}
            metadata: Dict[str, Any] = {"channel": session["channel"]}
            secret = _secret()
            if session["agent"]:
                metadata["audience"] = "agent"
                if secret:
                    metadata["agent_token"] = secret  # checked and replaced by a proof in prepare()
            prepared = prepare(data.get("message"), metadata, sender, secret)
            replies = await converse(on_new_message, prepared, sender, name)
            for item in merge_replies(replies):
                await sio.emit(bot_evt, item, room=sender)

        return bp

    @staticmethod
    async def _history(app: Optional[Sanic], sender: str) -> List[Dict[str, Any]]:
        try:
            tracker = await app.ctx.agent.tracker_store.retrieve(sender)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - no history is better than no conversation
            logger.exception("Guichet: history of %s unavailable", sender)
            return []
        if tracker is None:
            return []
        return history_from_events([e.as_dict() for e in tracker.events])
