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
from typing import Any

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


def _secret_box(settings: Settings):  # type: ignore[no-untyped-def]
    """Two-factor secrets are sealed with a key derived from the vault's master key."""
    from bot.images.vault import load_or_create_master_key
    from bot.totp import SecretBox

    path = settings.effective_master_key_file
    if settings.production and not path.is_file():
        raise SystemExit(f"Haven cannot start: the master key file {path} does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SecretBox(load_or_create_master_key(path))


async def _enable_totp(settings: Settings, usernames: list[str]) -> list[tuple[str, str, str]]:
    """Give each named staff account a new two-factor secret; return (username, secret, otpauth URI)."""
    from bot.accounts import Accounts, Passwords
    from bot.db import Database, make_engine
    from bot.schema import pending_migrations, upgrade

    engine = make_engine(settings.effective_database_url)
    try:
        if await pending_migrations(engine):
            await upgrade(engine)
        accounts = Accounts(Database(engine), Passwords())
        accounts.attach_secret_box(_secret_box(settings))
        made = []
        for name in usernames:
            enrolment = await accounts.do_enable_totp(name)
            made.append((name, enrolment.secret, enrolment.uri))
        return made
    finally:
        await engine.dispose()


# Young-generation size for the cyclic garbage collector. With Python's default (700) a busy chat server
# collects every few hundred allocations, promotes whatever is in flight at that instant, and then runs a
# full collection over every live socket's objects about once a second, each 100-130 ms on this machine:
# the whole tail of chat latency (bench/chat_load.py: p99 98-147 ms at 500 chats; with this, 61 ms).
GC_YOUNG_THRESHOLD = 50_000


def _tune_garbage_collector(app: Any) -> None:
    """Collect less often, and leave what start-up built (modules, mappers, settings) out of every pass."""
    import gc

    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)

    async def freeze(_app: Any) -> None:
        gc.collect()
        gc.freeze()

    app.on_startup.append(freeze)


def _check_files(settings: Settings) -> str | None:
    """The data folder's modes and the keys' places; None when the server may start, else why not."""
    from bot.hardening import HardeningError, check_data_dir, check_key_location

    try:
        # Development tightens what is too open and says so; production refuses to start.
        for fixed in check_data_dir(settings.data_path, fix=not settings.production):
            log.warning("made private: %s", fixed)
        if settings.production:
            for path, what in ((settings.effective_master_key_file, "master key"),
                               (settings.effective_audit_key_file, "audit key")):
                warning = check_key_location(path, settings.data_path, what)
                if warning:
                    log.warning(warning)
    except HardeningError as exc:
        return str(exc)
    return None


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from aiohttp import web

    from web.app import create_app
    from web.access import QuietAccessLogger

    from web.app import MigrationsPending

    problem = _check_files(settings)
    if problem:
        print(f"Haven cannot start: {problem}", file=sys.stderr)
        return 2
    if not settings.production and settings.demo_staff and not settings.database_url and settings.auto_migrate:
        asyncio.run(_migrate(settings))
        made = asyncio.run(_demo_staff(settings))
        if made:
            print("\nDemo staff accounts (shown once; sign in at /staff/login):")
            for role, name, password in made:
                print(f"  {role:<11} username: {name:<18} password: {password}")
            # Roles that must use two-factor sign-in get a secret now, so every side can still be tried.
            needs = [name for role, name, _ in made if role in settings.totp_required_roles]
            if needs:
                print("\nTwo-factor sign-in (add each to an authenticator app; shown once):")
                for name, secret, uri in asyncio.run(_enable_totp(settings, needs)):
                    print(f"  {name:<18} key: {secret}  ({uri})")
            print()
    app = create_app(settings)
    _tune_garbage_collector(app)
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


def _new_password(args: argparse.Namespace) -> str | None:
    """The password from --password-file, or typed twice; None (after saying why) if the two differ."""
    if args.password_file:
        return Path(args.password_file).read_text().strip()
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password again: "):
        print("The passwords don't match.", file=sys.stderr)
        return None
    return password


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from bot.errors import HavenError

    password = _new_password(args)
    if password is None:
        return 2
    try:
        name = asyncio.run(_create_user(settings, args.role, args.username, password))
    except HavenError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(f"Created {args.role} account {name!r}.")
    return 0


def cmd_totp_enable(settings: Settings, args: argparse.Namespace) -> int:
    from bot.errors import HavenError

    try:
        ((name, secret, uri),) = asyncio.run(_enable_totp(settings, [args.username]))
    except HavenError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(f"Two-factor sign-in is on for {name!r}; their other sessions were signed out.")
    print("Give them this, once, to add to an authenticator app (Haven cannot show it again):")
    print(f"  key: {secret}")
    print(f"  {uri}")
    return 0


STAFF_DONE = {
    "disable": "Disabled staff account {name!r}: it cannot sign in, and every session it had has ended.",
    "enable": "Staff account {name!r} can sign in again.",
    "reset-password": "Set a new password for {name!r}; every session it had has ended.",
    "reset-totp": "Forgot the two-factor secret of {name!r}: it sets one up again at its next sign-in "
                  "(or give it one with totp-enable). Every session it had has ended.",
    "delete": "Deleted staff account {name!r}: its name and sign-in are gone; what it did stays in the records "
              "under its id.",
}


async def _staff_action(db, action: str, username: str, password: str | None) -> str:  # type: ignore[no-untyped-def]
    from bot.accounts import Accounts, Passwords

    accounts = Accounts(db, Passwords())
    if action == "disable":
        await accounts.do_disable_staff(username)
    elif action == "enable":
        await accounts.do_disable_staff(username, disabled=False)
    elif action == "reset-password":
        await accounts.do_reset_password(username, password or "")
    elif action == "reset-totp":
        await accounts.do_reset_totp(username)
    else:
        await accounts.do_delete_staff(username)
    return username.strip()


def cmd_staff(settings: Settings, args: argparse.Namespace) -> int:
    from bot.errors import HavenError

    if args.action == "delete" and not args.yes:
        print(f"This removes {args.username!r}'s name and sign-in for good. Run again with --yes to do it.",
              file=sys.stderr)
        return 2
    password = _new_password(args) if args.action == "reset-password" else None
    if args.action == "reset-password" and password is None:
        return 2
    try:
        name = asyncio.run(_run_with_db(settings, lambda db: _staff_action(db, args.action, args.username, password)))
    except HavenError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(STAFF_DONE[args.action].format(name=name))
    return 0


def cmd_retention(settings: Settings, args: argparse.Namespace) -> int:
    from bot.accounts import Accounts, Passwords
    from bot.images.vault import Vault, load_or_create_master_key
    from bot.retention import DataProtection
    from handlers.privacy import run_retention

    vault_dir = settings.data_path / "vault"

    async def work(db):  # type: ignore[no-untyped-def]
        destroy = None
        if vault_dir.is_dir() and settings.effective_master_key_file.is_file():
            destroy = Vault(load_or_create_master_key(settings.effective_master_key_file), vault_dir).destroy
        return await run_retention(DataProtection(db, destroy), Accounts(db, Passwords()),
                                   settings.conversation_retention_days)

    result = asyncio.run(_run_with_db(settings, work))
    print(f"Removed {result['conversations']} conversation(s) closed more than "
          f"{settings.conversation_retention_days} days ago ({result['messages']} messages, {result['images']} "
          f"image(s)); cleared the transcript of {result['transcripts_cleared']} kept for their report; "
          f"{result['sessions']} ended session(s).")
    return 0


def cmd_hash(settings: Settings, args: argparse.Namespace) -> int:
    from bot.images.intake import IntakeError, IntakeLimits, hash_file

    limits = IntakeLimits(max_image_bytes=settings.upload_max_file_mb * 1024 * 1024,
                          max_video_bytes=settings.upload_max_video_mb * 1024 * 1024,
                          max_decoded_bytes=settings.max_decoded_mb * 1024 * 1024,
                          max_video_seconds=float(settings.upload_max_video_seconds),
                          frame_interval=settings.video_frame_interval_seconds)
    status = 0
    for name in args.files:
        try:
            print(json.dumps({"file": name, **hash_file(Path(name), limits)}))
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
        db = Database(engine)
        _attach_audit_key(settings, db)
        return await work(db)
    finally:
        await engine.dispose()


def _attach_audit_key(settings: Settings, db) -> None:  # type: ignore[no-untyped-def]
    """Commands sign their audit entries (and check the chain) with the server's audit key."""
    from bot.audit import attach_key
    from bot.images.vault import load_or_create_key

    path = settings.effective_audit_key_file
    if settings.production and not path.is_file():
        raise SystemExit(f"Haven cannot start: the audit key file {path} does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    attach_key(db, load_or_create_key(path, "audit key"))


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
    from bot.hashlist import EXPORT_COLUMNS, HashList, cell, export_row

    rows = []
    async for entry in HashList(db).iter_active():
        rows.append({**export_row(entry), "report_image_id": entry.report_image_id})
    partial = output.with_name(output.name + ".partial")
    # Written beside the target and renamed, so a reader never sees half a file.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=[*EXPORT_COLUMNS, "report_image_id"], lineterminator="\n")
            writer.writeheader()
            writer.writerows({key: cell(value) for key, value in row.items()} for row in rows)
        else:
            json.dump({"source": "Haven", "generated_at": datetime.now(timezone.utc).isoformat(),
                       "count": len(rows), "entries": rows}, handle, indent=1)
    os.replace(partial, output)
    await AuditLog(db).do_record(Actor(None, "admin"), "hashes_export", "hashlist:national",
                                 {"count": len(rows), "format": fmt})
    return len(rows)


def cmd_export_hashes(settings: Settings, args: argparse.Namespace) -> int:
    output = Path(args.output)
    if not output.parent.is_dir():
        print(f"error (no_folder): the folder {str(output.parent)!r} does not exist.", file=sys.stderr)
        return 2
    count = asyncio.run(_run_with_db(settings, lambda db: _export_hashes(db, output, args.format)))
    print(f"Wrote {count} actioned hash-list entries ({args.format}) to {output}.")
    return 0


def _read_checkpoints(db, path: Path) -> list:  # type: ignore[no-untyped-def]
    """Every checkpoint in the file (one JSON object a line); SystemExit naming a line that is not genuine."""
    from bot.audit import AUDIT_KEY, read_checkpoint

    if not path.is_file():
        return []
    points = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            points.append(read_checkpoint(db.info[AUDIT_KEY], json.loads(line)))
        except ValueError as exc:
            raise SystemExit(f"broken: line {number} of {path}: {exc}") from None
    return points


async def _audit_verify(db, path: Path):  # type: ignore[no-untyped-def]
    from bot.audit import AuditLog

    return await AuditLog(db).verify_chain(_read_checkpoints(db, path))


async def _audit_checkpoint(db, path: Path):  # type: ignore[no-untyped-def]
    """Check the chain, then append a signed checkpoint of its count and head to `path`."""
    import os

    from bot.audit import AUDIT_KEY, AuditLog, sign_checkpoint

    # Checkpointing is the operator vouching for what the log holds now, entries from before the key included.
    report = await AuditLog(db).verify_chain(_read_checkpoints(db, path), vouch=True)
    if report.ok:
        line = json.dumps(sign_checkpoint(db.info[AUDIT_KEY], report).as_dict()) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    return report


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.checkpoints) if args.checkpoints else settings.effective_audit_checkpoint_file
    work = _audit_checkpoint if args.action == "checkpoint" else _audit_verify
    report = asyncio.run(_run_with_db(settings, lambda db: work(db, path)))
    if not report.ok:
        print(f"broken at entry {report.broken_at}: {report.reason}")
        return 1
    older = f"; {report.unkeyed} from before the audit key" if report.unkeyed else ""
    if args.action == "checkpoint":
        print(f"ok: {report.count} entries (head {report.head_hash}){older}; checkpoint added to {path}")
        return 0
    # The head hash lets an operator anchor the log elsewhere: cutting entries off the end shows.
    print(f"ok: {report.count} entries (head {report.head_hash}){older}")
    if report.checkpoints:
        print(f"matches all {report.checkpoints} checkpoint(s) in {path}")
    else:
        print(f"no checkpoint in {path} yet: run `run.py audit checkpoint` regularly, so entries cut off the "
              "end or a replaced log show")
    return 0


async def _purge(settings: Settings, db):  # type: ignore[no-untyped-def]
    from bot.events import ListSink
    from bot.images.vault import Vault, load_or_create_master_key
    from bot.purge import PurgeConfig, Purger
    from bot.tickets import Notifier
    from dialogs.reporting import ticket_text

    key_file = settings.effective_master_key_file
    # Without the master key the wrapped keys still go (that alone destroys the images); the
    # ciphertext files are then removed by the server's start-up sweep.
    vault = Vault(load_or_create_master_key(key_file), settings.data_path / "vault") if key_file.is_file() else None
    purger = Purger(db, ListSink(), Notifier(ticket_text), PurgeConfig(
        retention_days=settings.image_retention_days, undecided_alert_days=settings.undecided_alert_days),
        vault=lambda: vault)
    return await purger.run_once()


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    result = asyncio.run(_run_with_db(settings, lambda db: _purge(settings, db)))
    print(f"Purged {result.images} image(s) from {result.reports} finished report(s); "
          f"raised {result.alerts} alert(s) for undecided reports.")
    return 0


def cmd_risk(settings: Settings, args: argparse.Namespace) -> int:
    """Conversations as JSON lines in, one triage result a line out (the chat's own scoring)."""
    from bot.risk.batch import score_lines

    try:
        handle = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    except OSError as exc:
        print(f"error (no_file): cannot read {args.file!r} ({exc.strerror}).", file=sys.stderr)
        return 2
    failed = 0
    with handle:
        for result in score_lines(handle):
            if "error" in result:
                failed += 1
                print(f"error ({result['error']['code']}) on line {result['line']}: {result['error']['message']}",
                      file=sys.stderr)
            print(json.dumps(result, ensure_ascii=False), flush=True)
    return 1 if failed else 0


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
    hasher = sub.add_parser("hash", help="print the hashes of image and video files as JSON lines (a video: file "
                            "hashes and vPDQ frames)")
    hasher.add_argument("files", nargs="+")
    partner = sub.add_parser("create-partner", help="create a partner platform and print its API key once")
    partner.add_argument("--name", required=True)
    revoke = sub.add_parser("revoke-partner", help="revoke a partner's API key")
    revoke.add_argument("--name", required=True)
    export = sub.add_parser("export-hashes",
                            help="write the actioned hashes and categories for the national database")
    export.add_argument("--output", required=True)
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    sub.add_parser("purge", help="destroy the images of decided or withdrawn reports past HAVEN_IMAGE_RETENTION_DAYS "
                   "and alert to reports undecided past HAVEN_UNDECIDED_ALERT_DAYS")
    totp = sub.add_parser("totp-enable", help="turn on two-factor sign-in for a staff account; prints its key once")
    totp.add_argument("--username", required=True)
    staff = sub.add_parser("staff", help="disable, enable, reset the password or two-factor of, or delete a staff "
                           "account (its sessions end at once)")
    staff.add_argument("action", choices=list(STAFF_DONE))
    staff.add_argument("--username", required=True)
    staff.add_argument("--password-file", help="reset-password: read the new password from this file")
    staff.add_argument("--yes", action="store_true", help="delete: confirm")
    sub.add_parser("retention", help="remove conversations closed longer ago than HAVEN_CONVERSATION_RETENTION_DAYS")
    audit = sub.add_parser("audit", help="check the audit log's signed chain against its checkpoints (audit verify), "
                           "or add a signed checkpoint of its length and head (audit checkpoint)")
    audit.add_argument("action", choices=["verify", "checkpoint"])
    audit.add_argument("--checkpoints", help="the checkpoint file (default HAVEN_AUDIT_CHECKPOINT_FILE)")
    risk = sub.add_parser("risk", help="score conversations (JSON lines: {\"id\", \"messages\"}) as the chat does; "
                          "prints level, score, categories and evidence as JSON lines")
    risk.add_argument("file", help="a .jsonl file, or - for standard input")
    return parser


COMMANDS = {"purge": cmd_purge, "serve": cmd_serve, "migrate": cmd_migrate, "create-user": cmd_create_user, "hash": cmd_hash,
            "create-partner": cmd_create_partner, "revoke-partner": cmd_revoke_partner,
            "export-hashes": cmd_export_hashes, "audit": cmd_audit, "totp-enable": cmd_totp_enable,
            "retention": cmd_retention, "risk": cmd_risk, "staff": cmd_staff}


def _harden_process() -> None:
    """Every command may hold images, keys or chats in memory, and writes files only its user may read."""
    from bot.hardening import forbid_core_dumps, private_umask

    forbid_core_dumps()
    private_umask()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    _harden_process()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Haven cannot start: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    return COMMANDS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
