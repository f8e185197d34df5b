"""create_app(settings): the one place where storage, dialogs, handlers and transports are wired."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator

import jinja2
import socketio
from aiohttp import web

from bot.accounts import Accounts, Passwords
from bot.audit import AuditLog
from bot.db import Database, make_engine
from bot.hashlist import HashList
from bot.partners import Partners
from bot.pdqindex import LivePdqIndex
from bot.purge import PurgeConfig, Purger, purge_context
from bot.queue import Counselling, CounsellingConfig
from bot.reports import ReportService, UploadLimits
from bot.inquiries import Inquiries
from bot.review import Review, ReviewConfig
from bot.retention import DataProtection
from bot.schema import pending_migrations, upgrade
from bot.supervision import Supervision, SupervisionConfig
from bot.tickets import Notifier
from bot.verification.service import VerificationService
from config import Settings
from dialogs.engine import DialogConfig, DialogEngine
from dialogs.main import MAIN_DIALOG, after_ticket_news
from dialogs.reporting import ticket_text
from handlers.api_v1 import ApiV1Handlers, index_refresh_ctx
from handlers.auth import AuthHandlers, two_factor_context
from handlers.privacy import PrivacyHandlers, retention_context
from handlers.common import CookiePolicy, CsrfTokens, csrf_of
from handlers.metrics import Metrics
from handlers.ops import OpsHandlers, audit_key_context
from handlers.pages import PageHandlers
from handlers.review import ReviewHandlers
from handlers.sink import SocketSink
from handlers.sockets.chat import ChatNamespace
from handlers.sockets.staff import CounsellorNamespace, DashboardPusher, SupervisorNamespace, sweeper
from handlers.supervisor import SupervisorHandlers
from handlers.upload import UploadHandlers, uploads_context
from handlers.verify import VerifyHandlers, verification_context
from web import keys
from web.middlewares import (
    csrf_middleware,
    errors_middleware,
    forwarded_middleware,
    identity_middleware,
    security_headers_middleware,
)
from web.pubsub import LocalManager, PipelinedRedisManager

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


class MigrationsPending(RuntimeError):
    """The database schema is older than the code and automatic migration is off."""


def _asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:10]


def _make_render(env: jinja2.Environment, asset_version: str):  # type: ignore[no-untyped-def]
    async def render(request: web.Request, name: str, context: dict[str, Any]) -> web.Response:
        template = env.get_template(name)
        html = await template.render_async(
            csrf_token=csrf_of(request), asset_version=asset_version, **context)
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})

    return render


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    engine = make_engine(settings.effective_database_url)
    try:
        if settings.auto_migrate:
            applied = await upgrade(engine)
            if applied:
                log.info("applied %d database migration(s): %s", len(applied), ", ".join(applied))
        else:
            todo = await pending_migrations(engine)
            if todo:
                raise MigrationsPending(
                    f"The database needs {len(todo)} migration(s) ({', '.join(todo)}). "
                    "Run `python run.py migrate`, or set HAVEN_AUTO_MIGRATE=true.")
        app[keys.DB].bind(engine)
        yield
    finally:
        await engine.dispose()


# Libraries that log packets or SQL parameters (message text, password hashes) at debug level.
CHATTY_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool", "engineio", "socketio",
                  "alembic", "httpx", "httpcore")


def _verification_settings(settings: Settings, tuning: dict[str, Any] | None) -> dict[str, Any]:
    """Plain provider settings for bot.verification.make_provider; `tuning` lets tests shorten timeouts."""
    if settings.verification_provider != "yoti":
        return {}
    key_file = settings.yoti_public_key_file
    return {
        "api_key": settings.yoti_api_key,
        "sdk_id": settings.yoti_sdk_id,
        "notification_secret": settings.yoti_notify_secret or None,
        "notification_public_key_pem": Path(key_file).read_text() if key_file else None,
        "base_url": settings.yoti_base_url,
        **(tuning or {}),
    }


def create_app(settings: Settings, *, verification_tuning: dict[str, Any] | None = None) -> web.Application:
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    metrics = Metrics()
    cookies = CookiePolicy(secure=settings.cookie_secure, max_age=settings.session_hours * 3600)
    csrf = CsrfTokens()

    # The Database object is created now (handlers hold it) and bound to its engine at start-up.
    db = Database()
    accounts = Accounts(
        db,
        Passwords(),
        session_hours=settings.session_hours,
        max_failures=settings.login_max_failures,
        backoff_seconds=settings.login_backoff_seconds,
        totp_required_roles=settings.totp_required_roles,
        registrations_per_hour=settings.registrations_per_hour,
        staff_idle_minutes=settings.staff_idle_minutes,
    )

    if settings.redis_url:
        manager: socketio.AsyncManager | None = PipelinedRedisManager(
            settings.redis_url, channel=settings.redis_channel)
    else:
        manager = LocalManager()
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=list(settings.allowed_origins),
        client_manager=manager,
        logger=False,
        engineio_logger=False,
        max_http_buffer_size=64 * 1024,
    )
    sink = SocketSink(sio)
    # Domain collaborators the dialogs' callbacks may use (queue, verification, reports): one attribute
    # each, added below by the area that owns it.
    services = SimpleNamespace()
    services.reports = ReportService(db, UploadLimits(
        max_file_bytes=settings.upload_max_file_mb * 1024 * 1024,
        max_report_bytes=settings.upload_max_report_mb * 1024 * 1024,
        max_files=settings.upload_max_files,
        max_decoded_bytes=settings.max_decoded_mb * 1024 * 1024,
        link_minutes=settings.upload_link_minutes,
        max_video_bytes=settings.upload_max_video_mb * 1024 * 1024,
        max_video_seconds=float(settings.upload_max_video_seconds),
        frame_interval=settings.video_frame_interval_seconds,
    ))
    engine = DialogEngine(
        db,
        sink,
        MAIN_DIALOG,
        DialogConfig(
            emergency_contacts=settings.emergency_contacts,
            opening_hours=settings.opening_hours,
            timezone=settings.timezone,
            message_max_chars=settings.message_max_chars,
        ),
        services=services,
    )

    # Age checks: dialogs reach the service through `services` and it reports back through engine.fire;
    # its provider is built at start-up, once the database (which the demo provider uses) is bound.
    services.verification = VerificationService(db, public_url=settings.effective_public_url, fire=engine.fire)
    # The counsellor queue, presence and live chats (the dialogs enqueue through it; the console drives it).
    services.counselling = Counselling(db, sink, CounsellingConfig(
        default_capacity=settings.counsellor_capacity, grace_seconds=settings.counsellor_grace_seconds,
        idle_minutes=settings.idle_timeout_minutes))
    # Supervisors: the dashboard (pushed after every queue change the sink carries), monitoring, metrics.
    services.supervision = Supervision(db, sink, services.counselling, SupervisionConfig(
        amber_wait_seconds=settings.queue_amber_wait_seconds, red_wait_seconds=settings.queue_red_wait_seconds,
        red_high_risk=settings.queue_red_high_risk, default_capacity=settings.counsellor_capacity,
        idle_minutes=settings.idle_timeout_minutes))
    dashboard = DashboardPusher(services.supervision, metrics)
    dashboard.attach(sio)
    sink.on_staff_change = dashboard.poke

    # The audit log, the hash list partners pull, partner keys, and the in-memory PDQ index over the list.
    services.audit = AuditLog(db)
    services.hashlist = HashList(db)
    services.partners = Partners(db, requests_per_minute=settings.partner_requests_per_minute,
                                 refused_keys_per_minute=settings.partner_refused_keys_per_minute)
    services.pdq_index = LivePdqIndex(services.hashlist)
    services.reports.attach_hash_list(services.hashlist, services.pdq_index)
    # Report tickets for analysts, ticket news in the child's chat, and purging images no longer needed.
    notifier = Notifier(ticket_text, after=after_ticket_news)
    services.purger = Purger(db, sink, notifier, PurgeConfig(
        retention_days=settings.image_retention_days, undecided_alert_days=settings.undecided_alert_days),
        vault=lambda: services.reports.vault)
    services.review = Review(db, sink, notifier, services.purger, services.hashlist, services.pdq_index,
                             services.partners, ReviewConfig(
                                 second_analyst=settings.second_analyst, retention_days=settings.image_retention_days,
                                 break_minutes=settings.review_break_minutes),
                             vault=lambda: services.reports.vault, pool=lambda: services.reports.pool,
                             limits=services.reports.limits.intake())

    app = web.Application(
        middlewares=[
            forwarded_middleware(settings.trusted_proxies),
            security_headers_middleware(settings.frame_ancestors, settings.allowed_origins, cookies.is_secure),
            errors_middleware(),
            identity_middleware(accounts, cookies, csrf),
            csrf_middleware(settings.allowed_origins, exempt_prefixes=("/socket.io/", "/verify/notify/", "/api/v1/")),
        ],
        client_max_size=1024 * 1024,
    )
    app[keys.SETTINGS] = settings
    app[keys.DB] = db
    app[keys.ACCOUNTS] = accounts
    app[keys.ENGINE] = engine
    app[keys.SIO] = sio
    app[keys.METRICS] = metrics
    app[keys.EXTRA] = {}

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        enable_async=True,
        undefined=jinja2.StrictUndefined,
    )
    asset_version = _asset_version()
    app[keys.TEMPLATES] = env
    app[keys.ASSET_VERSION] = asset_version
    render = _make_render(env, asset_version)

    async def sign_out_sockets(user_id: int) -> None:
        # Sockets opened with the old session must not outlive it.
        for namespace in ("/chat", "/counsellor", "/supervisor"):
            await sio.emit("signed_out", {}, room=f"user:{user_id}", namespace=namespace)
            for sid, _ in list(sio.manager.get_participants(namespace, f"user:{user_id}")):
                await sio.disconnect(sid, namespace=namespace)

    AuthHandlers(accounts, cookies, render, metrics, on_sign_out=sign_out_sockets).add_routes(app)
    OpsHandlers(db, metrics, settings.metrics_token).add_routes(app)
    PageHandlers(render, ROOT / "node_modules", settings.quick_exit_url).add_routes(app, STATIC)
    UploadHandlers(services.reports, engine, rate_limits=accounts.rate_limits,
                   uploads_per_minute=settings.uploads_per_minute).add_routes(app)
    # A child deleting their account, and the retention sweep (bot/retention.py says what goes and what stays).
    protection = DataProtection(db, destroy_image=lambda vault_id: services.reports.vault.destroy(vault_id))
    PrivacyHandlers(accounts, protection, cookies, on_sign_out=sign_out_sockets).add_routes(app)
    VerifyHandlers(services.verification, render).add_routes(app)
    ApiV1Handlers(services.partners, services.hashlist, services.pdq_index).add_routes(app)
    ReviewHandlers(services.review, Inquiries(db)).add_routes(app)
    SupervisorHandlers(services.supervision).add_routes(app)

    sio.register_namespace(ChatNamespace(accounts, metrics, engine, per_minute=settings.messages_per_minute,
                                         max_chars=settings.message_max_chars))
    sio.register_namespace(CounsellorNamespace("/counsellor", accounts, metrics, settings.messages_per_minute,
                                               counselling=services.counselling, engine=engine,
                                               max_chars=settings.message_max_chars))
    sio.register_namespace(SupervisorNamespace("/supervisor", accounts, metrics, settings.messages_per_minute,
                                               counselling=services.counselling, supervision=services.supervision,
                                               engine=engine, pusher=dashboard, max_chars=settings.message_max_chars,
                                               team={"default_capacity": settings.counsellor_capacity,
                                                     "opening_hours": [list(h) for h in settings.opening_hours],
                                                     "timezone": settings.timezone}))
    sio.attach(app)

    app.cleanup_ctx.append(_database)
    # Right after the database: every audit entry from here on is signed with the audit key.
    app.cleanup_ctx.append(audit_key_context(db, settings.effective_audit_key_file, create=not settings.production))
    app.cleanup_ctx.append(index_refresh_ctx(services.pdq_index))
    app.cleanup_ctx.append(sweeper(services.counselling, engine, settings.counsellor_grace_seconds))
    app.cleanup_ctx.append(dashboard.context())
    # After the database: the start-up sweep reads which vault files still have an image row.
    app.cleanup_ctx.append(uploads_context(
        services.reports, workers=settings.hashing_workers, master_key_file=settings.effective_master_key_file,
        create_master_key=not settings.production, vault_dir=settings.data_path / "vault"))
    # After the vault opens: purges finished reports' images and alerts to undecided ones.
    app.cleanup_ctx.append(purge_context(services.purger))
    app.cleanup_ctx.append(two_factor_context(
        accounts, settings.effective_master_key_file, create=not settings.production, csrf=csrf))
    app.cleanup_ctx.append(retention_context(protection, accounts, settings.conversation_retention_days))
    app.cleanup_ctx.append(verification_context(
        services.verification, db, settings.verification_provider,
        _verification_settings(settings, verification_tuning)))
    return app
