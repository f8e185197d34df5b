"""Haven's entry point: serve, migrate, create-user, hash, and other operator commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import secrets
import sys
from pathlib import Path

from config import Settings, SettingsError, load_settings

log = logging.getLogger("haven")


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Engine.IO's own logger prints packets (message text): keep it quiet whatever the level.
    for noisy in ("engineio", "socketio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _migrate(settings: Settings) -> list[str]:
    from bot.db import make_engine
    from bot.schema import upgrade

    engine = make_engine(settings.effective_database_url)
    try:
        return await upgrade(engine)
    finally:
        await engine.dispose()


async def _create_user(settings: Settings, role: str, username: str, password: str) -> str:
    from bot.accounts import Accounts, Passwords
    from bot.db import Database, make_engine

    engine = make_engine(settings.effective_database_url)
    try:
        from bot.schema import pending_migrations

        if await pending_migrations(engine):
            await _migrate(settings)
        accounts = Accounts(Database(engine), Passwords())
        user = await accounts.do_create_user(username, password, role)
        return user.username
    finally:
        await engine.dispose()


async def _demo_staff(settings: Settings) -> list[tuple[str, str, str]]:
    """On an empty embedded database in development, make one of each staff role to try things with."""
    from bot.accounts import Accounts, Passwords
    from bot.db import Database, make_engine

    engine = make_engine(settings.effective_database_url)
    try:
        accounts = Accounts(Database(engine), Passwords())
        if await accounts.count_users():
            return []
        made = []
        for role in ("counsellor", "supervisor", "analyst"):
            password = secrets.token_urlsafe(12)
            await accounts.do_create_user(f"demo-{role}", password, role)
            made.append((role, f"demo-{role}", password))
        return made
    finally:
        await engine.dispose()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from aiohttp import web

    from web.app import create_app
    from web.access import QuietAccessLogger

    from web.app import MigrationsPending

    if not settings.production and settings.demo_staff and not settings.database_url and settings.auto_migrate:
        asyncio.run(_migrate(settings))
        made = asyncio.run(_demo_staff(settings))
        if made:
            print("\nDemo staff accounts (shown once; sign in at /staff/login):")
            for role, name, password in made:
                print(f"  {role:<11} username: {name:<18} password: {password}")
            print()
    app = create_app(settings)
    print(f"Haven is running at http://{settings.host}:{settings.port}/  (Ctrl+C to stop)", flush=True)
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None, access_log_class=QuietAccessLogger)
    except MigrationsPending as exc:
        print(f"Haven cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    applied = asyncio.run(_migrate(settings))
    print(f"Applied {len(applied)} migration(s)." if applied else "The database is up to date.")
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from bot.errors import HavenError

    if args.password_file:
        password = Path(args.password_file).read_text().strip()
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password again: "):
            print("The passwords don't match.", file=sys.stderr)
            return 2
    try:
        name = asyncio.run(_create_user(settings, args.role, args.username, password))
    except HavenError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(f"Created {args.role} account {name!r}.")
    return 0


def cmd_hash(settings: Settings, args: argparse.Namespace) -> int:
    from bot.images.intake import IntakeError, hash_file

    status = 0
    for name in args.files:
        try:
            print(json.dumps({"file": name, **hash_file(Path(name))}))
        except IntakeError as exc:
            print(json.dumps({"file": name, "error": {"code": exc.code, "message": exc.message}}))
            status = 1
        except OSError as exc:
            print(json.dumps({"file": name, "error": {"code": "unreadable", "message": exc.strerror}}))
            status = 1
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python run.py",
        description="Haven: chat-first support for children. Settings come from the environment (see README).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", help="run the web server (applies migrations first unless HAVEN_AUTO_MIGRATE=false)")
    sub.add_parser("migrate", help="apply pending database migrations")
    create = sub.add_parser("create-user", help="create a staff account (password prompted or from a file)")
    create.add_argument("--role", required=True, choices=["counsellor", "supervisor", "analyst", "admin"])
    create.add_argument("--username", required=True)
    create.add_argument("--password-file", help="read the password from this file instead of prompting")
    hasher = sub.add_parser("hash", help="print MD5, SHA-1, SHA-256, PDQ and pHash of image files as JSON lines")
    hasher.add_argument("files", nargs="+")
    return parser


COMMANDS = {"serve": cmd_serve, "migrate": cmd_migrate, "create-user": cmd_create_user, "hash": cmd_hash}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Haven cannot start: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    return COMMANDS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
