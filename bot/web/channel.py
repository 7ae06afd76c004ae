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

from bot import access, handoff, services
from bot.channels import converse
from bot.config import PROJECT_ROOT, get_settings
from bot.conversation import Turn
from bot.inputs import clean, json_object, prepare
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


SESSION_ENDED = (
    "Votre session de conseiller a pris fin (déconnexion ou durée dépassée) : rechargez la page et "
    "saisissez de nouveau le code d'accès pour continuer."
)


PUBLIC_PAGES = ("borne", "chat")
COUNSELLORS = "conseillers"  # socket.io room of the authenticated counsellors' consoles
QUEUED_CHAT = (
    "Votre demande est transmise aux conseillers France services. Restez sur cette page : un conseiller va "
    "prendre le relais de cette conversation. En attendant, Guichet continue de vous répondre."
)
QUEUED_KIOSK = (
    "Un conseiller France services arrive : restez près de la borne. En attendant, Guichet continue de vous répondre."
)
TAKEN_TEXT = "Un conseiller France services vous répond."
RETURNED_TEXT = (
    "Le conseiller a terminé son échange avec vous. Guichet vous répond de nouveau : écrivez votre demande si vous "
    "en avez une autre."
)
CLOSED_TEXT = "Le conseiller France services a clos cet échange. Merci de votre visite."
LEFT_TEXT = "Vous avez quitté l'échange avec le conseiller. Guichet vous répond de nouveau."
CLOSED_NOW = "Les conseillers France services ne sont pas disponibles en ce moment."
CALLBACK_OFFER = (
    "Si vous le souhaitez, laissez un numéro de téléphone ou une adresse électronique : un conseiller vous "
    "recontactera pendant les horaires d'ouverture."
)
CALLBACKS_PER_CONNECTION = 2  # a page that sends more is not a person asking to be called back
CALLBACK_ALREADY = (
    "Votre demande de rappel est déjà enregistrée : un conseiller France services vous recontactera. Pour la "
    "modifier, présentez-vous à votre espace France services pendant ses horaires d'ouverture."
)
CALLBACK_STORED = (
    "Votre demande de rappel est enregistrée. Un conseiller France services vous recontactera pendant les horaires "
    "d'ouverture ; votre moyen de contact sera effacé une fois le rappel fait."
)
TAKEN_BY_OTHER = "Un autre conseiller a déjà pris en charge cette demande."
NOT_YOURS = "Cette conversation n'est pas (ou plus) prise en charge par vous."


def _case_room(case_id: int) -> str:
    return f"case-{case_id}"


def _case_id(data: Any) -> Optional[int]:
    value = data.get("case") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def public_case(case: Dict[str, Any]) -> Dict[str, Any]:
    """A case as the console shows it (never the conversation id)."""
    return {key: case[key] for key in ("id", "channel", "status", "urgent", "created_at", "taken_by", "taken_at",
                                        "summary")}


def queue_payload() -> Dict[str, Any]:
    import time

    database = services.database()
    return {"now": time.time(), "cases": [public_case(c) for c in handoff.queue(database)],
            "callbacks": handoff.pending_callbacks(database)}


def client_address(request: Request) -> str:
    """The peer's address; behind a reverse proxy, the forwarded one when Sanic is told to trust it
    (SANIC_PROXIES_COUNT / SANIC_REAL_IP_HEADER, docs/deploy.md)."""
    return request.remote_addr or request.ip or "inconnue"


def _session_valid(token: Optional[str]) -> bool:
    return access.session_valid(services.database(), token, access.agent_code())


async def is_counsellor(request: Request) -> bool:
    return await _in_thread(_session_valid, request.cookies.get(security.COOKIE))


def chat_frame_ancestors() -> str:
    """The web chat may be embedded by Guichet's own pages and the sites of GUICHET_ALLOWED_ORIGINS."""
    return " ".join(("'self'",) + get_settings().allowed_origins)


def socket_origin_allowed(origin: Optional[str], environ: Dict[str, Any]) -> bool:
    """socket.io connections from Guichet's own pages (same origin) or a listed site; a client that
    sends no Origin (not a browser) is not checked by engine.io."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST", "")
    return bool(origin) and (origin == f"{scheme}://{host}" or origin in get_settings().allowed_origins)


def _blocked(wait_s: float) -> HTTPResponse:
    resp = _error(access.wait_message(wait_s), 429)
    resp.headers["Retry-After"] = str(int(wait_s) + 1)
    return resp


def _json_body(request: Request) -> Optional[Dict[str, Any]]:
    body = request.body or b""
    return None if len(body) > MAX_API_BODY else json_object(body)


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Database work (short sessions, synchronous SQLAlchemy) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


async def _active_case(sender: str) -> Optional[Dict[str, Any]]:
    """The conversation's case in the counsellors' queue; None when the queue cannot be read (the bot
    then answers as usual rather than leaving the person without a reply)."""
    try:
        return await _in_thread(handoff.active_case, services.database(), sender)
    except Exception:  # noqa: BLE001 - the person gets the bot's answer, the log gets the trace
        logger.exception("Guichet: queue unavailable for %s", sender)
        return None


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
        "handoff": dict(report.handoff),
        "handoff_wait": {k: round(v, 1) for k, v in report.handoff_wait.items()},
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

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        # Rasa builds its channels once, at start: the counsellor code is created now if it has to be,
        # and whoever started the server is told where it is (never the code itself).
        logger.info(access.where_is_the_code())
        return cls()

    def url_prefix(self) -> Text:
        # Rasa mounts channels under /webhooks/<prefix>; an absolute "/" puts the pages at the root.
        return "/"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        web = Blueprint("guichet_web", __name__)

        @web.route("/<page:conseiller|borne|chat>", methods=["GET"])
        async def page(request: Request, page: str) -> HTTPResponse:
            embedded = page == "chat" and request.args.get("integre") == "1"
            html = await _in_thread(render_page, page, {"embedded": embedded})
            # The web chat may be embedded in the sites of GUICHET_ALLOWED_ORIGINS (widget.js); the others may not.
            return _security_headers(response.html(html), chat_frame_ancestors() if page == "chat" else "'self'")

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
            # code_required: always true (there is no open console any more), kept for the contract.
            return _security_headers(response.json({"counsellor": await is_counsellor(request), "code_required": True}))

        @web.route("/api/conseiller/session", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            data = _json_body(request)
            if data is None:
                return _error("Requête invalide.", 400)
            address = client_address(request)
            wait = await _in_thread(access.retry_after, services.database(), address)
            if wait is not None:
                return _blocked(wait)
            secret = access.agent_code()
            if not access.code_matches(data.get("code"), secret):
                left = await _in_thread(access.record_failure, services.database(), address)
                await asyncio.sleep(0.5)  # slows down guessing a little more
                if left == 0:
                    return _blocked(access.WINDOW_S)
                return _error(f"Code d'accès incorrect. Il vous reste {left} essai{'s' if left > 1 else ''} "
                              f"avant un blocage de {access.WINDOW_S // 60} minutes.", 403)
            settings = get_settings()
            token = await _in_thread(access.open_session, services.database(), secret, settings.agent_session_s)
            resp = response.json({"counsellor": True, "code_required": True})
            resp.cookies[security.COOKIE] = token
            cookie = resp.cookies[security.COOKIE]
            cookie["httponly"] = True
            cookie["samesite"] = "Strict"
            cookie["path"] = "/"
            cookie["max-age"] = settings.agent_session_s
            if request.scheme == "https":
                cookie["secure"] = True
            return _security_headers(resp)

        @web.route("/api/conseiller/session", methods=["DELETE"])
        async def logout(request: Request) -> HTTPResponse:
            # Ends the session on the server: the cookie, replayed, no longer opens anything.
            await _in_thread(access.close_session, services.database(), request.cookies.get(security.COOKIE),
                             access.agent_code())
            resp = response.json({"counsellor": False})
            resp.cookies[security.COOKIE] = ""
            resp.cookies[security.COOKIE]["max-age"] = 0
            resp.cookies[security.COOKIE]["path"] = "/"
            return _security_headers(resp)

        @web.route("/api/recherche", methods=["GET"])
        async def search(request: Request) -> HTTPResponse:
            if not await is_counsellor(request):
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
            if not await is_counsellor(request):
                return _error("Réservé aux conseillers France services : connectez-vous.", 401)
            return _security_headers(response.json(await _in_thread(_figures)))

        @web.route("/conseiller/synthese/<session_id>", methods=["GET"])
        async def printable_summary(request: Request, session_id: str) -> HTTPResponse:
            """The person's printable copy of the console conversation's case (public wording)."""
            if not await is_counsellor(request):
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


def with_offer(item: Dict[str, Any]) -> Dict[str, Any]:
    """On the kiosk and the web chat: « Parler à un conseiller » offered under every urgent answer and
    after a fallback the bot could not resolve (`offer_counsellor` in the custom payload)."""
    custom = item.get("custom")
    if isinstance(custom, dict) and (
        (custom.get("type") == "answer" and custom.get("category") == "urgent") or custom.get("unresolved")
    ):
        item = {**item, "custom": {**custom, "offer_counsellor": True}}
    return item


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
        self._background: set = set()  # tasks waiting for a disconnected person (kept until they end)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Same origin or a site of GUICHET_ALLOWED_ORIGINS (never "any origin": a page elsewhere must not
        # drive a conversation through a visitor's browser).
        settings = get_settings()
        manager = None
        if settings.lock_store_url and settings.lock_store_url.startswith(("redis://", "rediss://")):
            # Several Rasa instances: an emit to a room (a person's conversation, the counsellors) reaches
            # the sockets connected to the other instances through Redis' publish/subscribe.
            from socketio import AsyncRedisManager

            manager = AsyncRedisManager(settings.lock_store_url, channel="guichet-socketio")
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=socket_origin_allowed, client_manager=manager)
        holder: Dict[str, Any] = {}
        bp = _SocketBlueprint(sio, self.socketio_path, holder, "guichet_socketio", __name__)
        bot_evt, user_evt, name = self.bot_message_evt, self.user_message_evt, self.name()
        self.sio, self.holder = sio, holder

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict[str, Any]] = None) -> bool:
            channel = (auth or {}).get("channel") if isinstance(auth, dict) else None
            if channel not in PAGES:
                channel = "chat"
            cookie = security.cookie_from_header(environ.get("HTTP_COOKIE"))
            agent = channel == "conseiller" and await _in_thread(_session_valid, cookie)
            # The session token is kept to check, at every message, that the session still runs.
            await sio.save_session(sid, {"channel": channel, "agent": agent, "token": cookie if agent else None,
                                         "sender": None,
                                         "counsellor": access.counsellor_id(access.agent_code(), cookie) if agent else None})
            if agent:
                await sio.enter_room(sid, COUNSELLORS)
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
                shown = await self._history(holder.get("app"), sender)
                if session["channel"] in PUBLIC_PAGES:
                    shown = [with_offer(item) if item.get("from") == "bot" else item for item in shown]
                await sio.emit("history", shown, room=sid)
            if session["channel"] in PUBLIC_PAGES:
                case = await _active_case(sender)
                if case is not None:
                    await sio.emit("handoff_state", {"state": case["status"]}, room=sid)

        @sio.on(user_evt)
        async def handle_message(sid: str, data: Any) -> None:
            session = await sio.get_session(sid)
            sender = session.get("sender")
            if not sender:
                await sio.emit("session_expired", {}, room=sid)
                return
            data = data if isinstance(data, dict) else {}
            metadata: Dict[str, Any] = {"channel": session["channel"]}
            secret = access.agent_code()
            if session["agent"]:
                if not await _in_thread(_session_valid, session["token"]):  # logged out or expired meanwhile
                    await sio.emit(bot_evt, {"text": SESSION_ENDED, "custom": {"type": "session_ended"}}, room=sid)
                    return
                metadata["audience"] = "agent"
                metadata["agent_token"] = secret  # checked and replaced by a proof in prepare()
            prepared = prepare(data.get("message"), metadata, sender, secret)
            public = session["channel"] in PUBLIC_PAGES
            if public:
                case = await _active_case(sender)
                if case is not None and case["status"] == handoff.TAKEN:
                    # A counsellor holds the conversation: the bot stays silent, the counsellor reads it.
                    await self._person_writes(case, sender, session["channel"], prepared)
                    return
            replies = await converse(on_new_message, prepared, sender, name)
            asked = False
            for item in merge_replies(replies):
                if public:
                    item = with_offer(item)
                    asked = asked or (item.get("custom") or {}).get("type") == "counsellor"
                await sio.emit(bot_evt, item, room=sender)
            if asked:
                await sio.emit(bot_evt, await self._request_counsellor(sender, session["channel"]), room=sender)

        # -- the person: leaving, callback requests ------------------------------------------------

        @sio.on("handoff_leave")
        async def handoff_leave(sid: str, _data: Any = None) -> Dict[str, Any]:
            session = await sio.get_session(sid)
            sender = session.get("sender")
            if not sender or session["channel"] not in PUBLIC_PAGES:
                return {"ok": False}
            return {"ok": await person_left(sender)}

        async def person_left(sender: str) -> bool:
            """The person leaves the queue or the exchange (button, or gone): the case ends, the
            counsellor holding it is told, the queue of every console is updated."""
            case = await _in_thread(handoff.leave, services.database(), sender)
            if case is None:
                return False
            text = LEFT_TEXT
            await self._append(sender, [self._resume_event(case, "left")] if case["status"] == handoff.TAKEN else [],
                               text, {"type": "handoff", "state": "left"})
            await sio.emit(bot_evt, {"text": text, "custom": {"type": "handoff", "state": "left"}}, room=sender)
            await sio.emit("case_ended", {"case": case["id"], "reason": "left",
                                          "text": "La personne a quitté l'échange."}, room=_case_room(case["id"]))
            await self._broadcast_queue()
            return True

        async def gone_after_grace(sender: str) -> None:
            """A person's page closed (kiosk left, tab closed): after the grace period, unless a page of
            the conversation is connected again (a reload), the person leaves the queue. Presence is
            known per instance: with several instances, sticky sessions (docs/deploy.md) bring a
            reload back to the same one."""
            await asyncio.sleep(get_settings().handoff_grace_s)
            if any(True for _ in sio.manager.get_participants("/", sender)):
                return
            try:
                await person_left(sender)  # nothing when no case is active (handoff.leave)
            except Exception:  # noqa: BLE001 - a background task: the log keeps the trace
                logger.exception("Guichet: the case of a disconnected person could not be closed")

        @sio.on("disconnect")
        async def disconnect(sid: str, *_reason: Any) -> None:
            try:
                session = await sio.get_session(sid)
            except KeyError:
                return
            sender = session.get("sender")
            if sender and session.get("channel") in PUBLIC_PAGES:
                self._background.add(task := asyncio.ensure_future(gone_after_grace(sender)))
                task.add_done_callback(self._background.discard)

        @sio.on("callback_request")
        async def callback_request(sid: str, data: Any = None) -> Dict[str, Any]:
            session = await sio.get_session(sid)
            data = data if isinstance(data, dict) else {}
            if session["channel"] not in PUBLIC_PAGES:
                return {"ok": False, "error": "Canal inconnu."}
            if session.get("callbacks", 0) >= CALLBACKS_PER_CONNECTION:
                return {"ok": False, "error": CALLBACK_ALREADY}
            try:
                await _in_thread(handoff.record_callback, services.database(), session["channel"], data.get("contact"),
                                 data.get("consent"), data.get("note"))
            except handoff.CallbackError as exc:
                return {"ok": False, "error": str(exc)}
            session["callbacks"] = session.get("callbacks", 0) + 1
            await sio.save_session(sid, session)
            await self._broadcast_queue()
            return {"ok": True, "text": CALLBACK_STORED}

        # -- the counsellors: queue, take, write, hand back -----------------------------------------

        async def counsellor(sid: str) -> Optional[Dict[str, Any]]:
            """The counsellor's session, checked again at every request (None: refused)."""
            session = await sio.get_session(sid)
            if not session.get("agent") or not await _in_thread(_session_valid, session.get("token")):
                await sio.emit("case_refused", {"message": SESSION_ENDED}, room=sid)
                return None
            return session

        @sio.on("queue_request")
        async def queue_request(sid: str, _data: Any = None) -> None:
            session = await counsellor(sid)
            if session is None:
                return
            await sio.emit("queue", {**await _in_thread(queue_payload), "me": session["counsellor"]}, room=sid)

        @sio.on("case_take")
        async def case_take(sid: str, data: Any = None) -> None:
            session = await counsellor(sid)
            case_id = _case_id(data)
            if session is None or case_id is None:
                return
            who = session["counsellor"]
            if not await _in_thread(handoff.take, services.database(), case_id, who):
                await sio.emit("case_refused", {"case": case_id, "message": TAKEN_BY_OTHER}, room=sid)
                await self._broadcast_queue()
                return
            case = await _in_thread(handoff.get_case, services.database(), case_id)
            from rasa.shared.core.events import ConversationPaused

            waited = max(0.0, (case["taken_at"] or 0) - case["created_at"])
            pause = ConversationPaused(metadata={"counsellor": who, "case": case_id, "handoff": "take",
                                                 "channel": case["channel"], "waited_s": round(waited, 1)})
            await self._append(case["sender"], [pause], TAKEN_TEXT, {"type": "handoff", "state": "taken"}, who)
            await sio.emit(bot_evt, {"text": TAKEN_TEXT, "custom": {"type": "handoff", "state": "taken"}},
                           room=case["sender"])
            await sio.enter_room(sid, _case_room(case_id))
            await sio.emit("case_opened", {"case": public_case(case), "history": await self._history(
                holder.get("app"), case["sender"])}, room=sid)
            await self._broadcast_queue()

        @sio.on("case_open")
        async def case_open(sid: str, data: Any = None) -> None:
            """After a reload of the console: the counsellor's own held case, reopened."""
            session = await counsellor(sid)
            case_id = _case_id(data)
            if session is None or case_id is None:
                return
            case = await _in_thread(handoff.get_case, services.database(), case_id)
            if case is None or case["status"] != handoff.TAKEN or case["taken_by"] != session["counsellor"]:
                await sio.emit("case_refused", {"case": case_id, "message": NOT_YOURS}, room=sid)
                return
            await sio.enter_room(sid, _case_room(case_id))
            await sio.emit("case_opened", {"case": public_case(case), "history": await self._history(
                holder.get("app"), case["sender"])}, room=sid)

        @sio.on("case_message")
        async def case_message(sid: str, data: Any = None) -> None:
            session = await counsellor(sid)
            case_id = _case_id(data)
            if session is None or case_id is None:
                return
            text = clean(data.get("text")) if isinstance(data.get("text"), str) else ""
            text = text[:handoff.MAX_COUNSELLOR_MESSAGE]
            case = await _in_thread(handoff.get_case, services.database(), case_id)
            if case is None or case["status"] != handoff.TAKEN or case["taken_by"] != session["counsellor"]:
                await sio.emit("case_refused", {"case": case_id, "message": NOT_YOURS}, room=sid)
                return
            if not text:
                return
            custom = {"type": "counsellor_message"}
            await self._append(case["sender"], [], text, custom, session["counsellor"])
            await sio.emit(bot_evt, {"text": text, "custom": custom}, room=case["sender"])
            await sio.emit("case_message", {"case": case_id, "from": "counsellor", "text": text},
                           room=_case_room(case_id))

        @sio.on("case_release")
        async def case_release(sid: str, data: Any = None) -> None:
            session = await counsellor(sid)
            case_id = _case_id(data)
            if session is None or case_id is None:
                return
            status = handoff.CLOSED if data.get("close") is True else handoff.RETURNED
            case = await _in_thread(handoff.get_case, services.database(), case_id)
            if case is None or not await _in_thread(handoff.end, services.database(), case_id,
                                                     session["counsellor"], status):
                await sio.emit("case_refused", {"case": case_id, "message": NOT_YOURS}, room=sid)
                return
            text = RETURNED_TEXT if status == handoff.RETURNED else CLOSED_TEXT
            custom = {"type": "handoff", "state": status}
            await self._append(case["sender"], [self._resume_event(case, status, session["counsellor"])], text,
                               custom, session["counsellor"])
            await sio.emit(bot_evt, {"text": text, "custom": custom}, room=case["sender"])
            await sio.emit("case_ended", {"case": case_id, "reason": status}, room=_case_room(case_id))
            await sio.leave_room(sid, _case_room(case_id))
            await self._broadcast_queue()

        @sio.on("callback_done")
        async def callback_done(sid: str, data: Any = None) -> None:
            session = await counsellor(sid)
            callback_id = _case_id(data)
            if session is None or callback_id is None:
                return
            await _in_thread(handoff.handle_callback, services.database(), callback_id)
            await self._broadcast_queue()

        return bp

    # -- helpers of the take-over (tracker events, live messages) ------------------------------------

    async def _broadcast_queue(self) -> None:
        await self.sio.emit("queue", await _in_thread(queue_payload), room=COUNSELLORS)

    @staticmethod
    def _resume_event(case: Dict[str, Any], how: str, who: Optional[str] = None):
        from rasa.shared.core.events import ConversationResumed

        return ConversationResumed(metadata={"counsellor": who or case.get("taken_by"), "case": case["id"],
                                             "handoff": how, "channel": case["channel"]})

    async def _append(self, sender: str, events: List[Any], text: Optional[str] = None,
                      custom: Optional[Dict[str, Any]] = None, who: Optional[str] = None,
                      user: Optional[Any] = None) -> None:
        """Events added to the conversation's tracker, under its lock (as Rasa's own processing does):
        who (a counsellor pseudonym) and when (the event's timestamp) are kept in the tracker store."""
        from rasa.shared.core.events import BotUttered

        agent = self.holder["app"].ctx.agent
        extra = list(events)
        if user is not None:
            extra.insert(0, user)
        if text is not None:
            extra.append(BotUttered(text, data={"custom": custom or {}}, metadata={"counsellor": who} if who else None))
        async with agent.lock_store.lock(sender, wait_time_in_seconds=0.05):
            tracker = await agent.processor.get_tracker(sender)
            for event in extra:
                tracker.update(event)
            await agent.processor.save_tracker(tracker)

    async def _person_writes(self, case: Dict[str, Any], sender: str, channel: str, prepared: Any) -> None:
        """While a counsellor holds the conversation, the person's words go to the counsellor (redacted,
        kept in the tracker as a user message without any bot prediction)."""
        from rasa.shared.core.events import UserUttered

        if prepared.reply is not None or prepared.text.startswith("/"):
            return  # nothing said to the counsellor (empty, other language, a button of the bot)
        user = UserUttered(prepared.text, input_channel=self.name(), metadata=prepared.metadata)
        await self._append(sender, [], user=user)
        await self.sio.emit("case_message", {"case": case["id"], "from": "person", "text": prepared.text},
                            room=_case_room(case["id"]))

    async def _request_counsellor(self, sender: str, channel: str) -> Dict[str, Any]:
        """During opening hours the conversation joins the queue; otherwise the opening time and a callback."""
        settings = get_settings()
        if not handoff.is_open(settings):
            opens = handoff.next_opening(settings)
            text = (CLOSED_NOW + (f" L'espace France services ouvre {opens}." if opens else "") + " " + CALLBACK_OFFER)
            custom = {"type": "handoff", "state": "closed", "opens": opens, "callback": True}
            await self._append(sender, [], text, custom)
            return {"text": text, "custom": custom}
        app = self.holder["app"]
        tracker = await app.ctx.agent.tracker_store.retrieve(sender)
        events = [e.as_dict() for e in tracker.events] if tracker is not None else []
        slots = tracker.current_slot_values() if tracker is not None else {}
        summary = handoff.summarise(events, slots, channel)
        case, created = await _in_thread(handoff.open_case, services.database(), sender, channel, summary)
        text = QUEUED_KIOSK if channel == "borne" else QUEUED_CHAT
        custom = {"type": "handoff", "state": "queued", "channel": channel}
        if created:
            await self._append(sender, [], text, custom)
            await self._broadcast_queue()
        return {"text": text, "custom": custom}

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
