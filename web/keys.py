"""Every typed application key, in one place (no module-level state anywhere else)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import jinja2
    import socketio
    from prometheus_client import CollectorRegistry

    from bot.accounts import Accounts
    from bot.db import Database
    from config import Settings
    from dialogs.engine import DialogEngine
    from handlers.metrics import Metrics

SETTINGS: web.AppKey["Settings"] = web.AppKey("settings")
DB: web.AppKey["Database"] = web.AppKey("db")
ACCOUNTS: web.AppKey["Accounts"] = web.AppKey("accounts")
ENGINE: web.AppKey["DialogEngine"] = web.AppKey("engine")
SIO: web.AppKey["socketio.AsyncServer"] = web.AppKey("sio")
TEMPLATES: web.AppKey["jinja2.Environment"] = web.AppKey("templates")
METRICS: web.AppKey["Metrics"] = web.AppKey("metrics")
REGISTRY: web.AppKey["CollectorRegistry"] = web.AppKey("registry")
ASSET_VERSION: web.AppKey[str] = web.AppKey("asset_version")
EXTRA: web.AppKey[dict[str, Any]] = web.AppKey("extra")
