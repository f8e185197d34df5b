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


async def _run_with_db(settings: Settings, work):  # type: ignore[no-untyped-def]
    """Open the database (applying pending migrations), run `work(db)`, and close it again."""
    from bot.db import Database, make_engine
    from bot.schema import pending_migrations, upgrade

    engine = make_engine(settings.effective_database_url)
    try:
        if await pending_migrations(engine):
            await upgrade(engine)
        return await work(Database(engine))
    finally:
        await engine.dispose()


def cmd_create_partner(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import Actor
    from bot.errors import HavenError
    from bot.partners import Partners

    try:
        made = asyncio.run(_run_with_db(settings, lambda db: Partners(db).do_create(args.name, Actor(None, "admin"))))
    except HavenError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(f"Created partner {made.partner.name!r}. Its API key (shown this once; Haven keeps only a hash):")
    print(made.key)
    return 0


def cmd_revoke_partner(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import Actor
    from bot.errors import HavenError
    from bot.partners import Partners

    try:
        info = asyncio.run(_run_with_db(settings, lambda db: Partners(db).do_revoke(args.name, Actor(None, "admin"))))
    except HavenError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(f"Revoked the API key of partner {info.name!r}.")
    return 0


async def _export_hashes(db, output: Path, fmt: str) -> int:  # type: ignore[no-untyped-def]
    import csv
    import os
    from datetime import datetime, timezone

    from bot.audit import Actor, AuditLog
    from bot.hashlist import HashList

    rows = []
    async for entry in HashList(db).iter_active():
        rows.append({"id": entry.id, "category": entry.category, "md5": entry.md5, "sha1": entry.sha1,
                     "sha256": entry.sha256, "pdq": entry.pdq, "pdq_quality": entry.pdq_quality,
                     "published_at": entry.published_at.isoformat(), "report_image_id": entry.report_image_id})
    partial = output.with_name(output.name + ".partial")
    # Written beside the target and renamed, so a reader never sees half a file.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=list(EXPORT_FIELDS), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            json.dump({"source": "Haven", "generated_at": datetime.now(timezone.utc).isoformat(),
                       "count": len(rows), "entries": rows}, handle, indent=1)
    os.replace(partial, output)
    await AuditLog(db).do_record(Actor(None, "admin"), "hashes_export", "hashlist:national",
                                 {"count": len(rows), "format": fmt})
    return len(rows)


EXPORT_FIELDS = ("id", "category", "md5", "sha1", "sha256", "pdq", "pdq_quality", "published_at", "report_image_id")


def cmd_export_hashes(settings: Settings, args: argparse.Namespace) -> int:
    output = Path(args.output)
    if not output.parent.is_dir():
        print(f"error (no_folder): the folder {str(output.parent)!r} does not exist.", file=sys.stderr)
        return 2
    count = asyncio.run(_run_with_db(settings, lambda db: _export_hashes(db, output, args.format)))
    print(f"Wrote {count} actioned hash-list entries ({args.format}) to {output}.")
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import AuditLog

    report = asyncio.run(_run_with_db(settings, lambda db: AuditLog(db).verify_chain()))
    if report.ok:
        # The head hash lets an operator anchor the log elsewhere: cutting entries off the end shows.
        print(f"ok: {report.count} entries (head {report.head_hash})")
        return 0
    print(f"broken at entry {report.broken_at}: {report.reason}")
    return 1


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
    partner = sub.add_parser("create-partner", help="create a partner platform and print its API key once")
    partner.add_argument("--name", required=True)
    revoke = sub.add_parser("revoke-partner", help="revoke a partner's API key")
    revoke.add_argument("--name", required=True)
    export = sub.add_parser("export-hashes",
                            help="write the actioned hashes and categories for the national database")
    export.add_argument("--output", required=True)
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    audit = sub.add_parser("audit", help="check the audit log's hash chain (audit verify)")
    audit.add_argument("action", choices=["verify"])
    return parser


COMMANDS = {"serve": cmd_serve, "migrate": cmd_migrate, "create-user": cmd_create_user, "hash": cmd_hash,
            "create-partner": cmd_create_partner, "revoke-partner": cmd_revoke_partner,
            "export-hashes": cmd_export_hashes, "audit": cmd_audit}


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
