"""One frozen settings object, built once from documented defaults plus the environment."""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value Haven cannot use; the message names it and what is allowed."""


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"a whole number from {lo} to {hi}") from None
        if not lo <= value <= hi:
            raise ValueError(f"a whole number from {lo} to {hi}")
        return value

    return parse


def _float(lo: float, hi: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"a number from {lo} to {hi}") from None
        if not lo <= value <= hi:
            raise ValueError(f"a number from {lo} to {hi}")
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("true or false")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError("one of " + ", ".join(allowed))
        return value

    return parse


def _text(raw: str) -> str:
    return raw.strip()


def _origins(raw: str) -> tuple[str, ...]:
    items = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    if not items:
        # An empty list would turn python-socketio's Origin check off entirely.
        raise ValueError("a comma-separated list of at least one origin like https://chat.example.org")
    for origin in items:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
            raise ValueError(f"origins like https://chat.example.org (got {origin!r})")
    return items


def _sources(raw: str) -> tuple[str, ...]:
    items = tuple(o.strip() for o in raw.split() if o.strip())
    if not items:
        raise ValueError("space-separated CSP sources such as 'self' https://www.example.org")
    return items


def _secret(raw: str) -> str:
    value = raw.strip()
    if value and (len(value) < 16 or any(c.isspace() for c in value)):
        raise ValueError("empty, or a secret of at least 16 characters without spaces")
    return value


def _database_url(raw: str) -> str:
    value = raw.strip()
    if value and not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
        raise ValueError("empty (the embedded SQLite file), sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db URL")
    return value


def _redis_url(raw: str) -> str:
    value = raw.strip()
    if value and not value.startswith(("redis://", "rediss://")):
        raise ValueError("empty (no Redis) or a redis://host:port/db URL")
    return value


def _url(raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("an absolute http(s) URL")
    return value


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone name such as Europe/London") from None
    return raw.strip()


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours(raw: str) -> tuple[tuple[int, int, int], ...]:
    """Parse 'mon-fri 09:00-21:30, sat-sun 12:00-20:00' into (weekday, start_min, end_min)."""
    allowed = "entries like 'mon-fri 09:00-22:00, sat-sun 12:00-20:00' (24-hour clock)"
    result: list[tuple[int, int, int]] = []
    for chunk in raw.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        try:
            days, span = chunk.split()
            first, _, last = days.lower().partition("-")
            d0 = DAYS.index(first)
            d1 = DAYS.index(last or first)
            start, end = span.split("-")
            sm = int(start[:2]) * 60 + int(start[3:5])
            em = int(end[:2]) * 60 + int(end[3:5])
        except ValueError:
            raise ValueError(allowed) from None
        if not (0 <= sm < em <= 24 * 60) or d1 < d0:
            raise ValueError(allowed)
        for day in range(d0, d1 + 1):
            result.append((day, sm, em))
    return tuple(result)


def _addresses(raw: str) -> tuple[str, ...]:
    import ipaddress

    items = tuple(a.strip() for a in raw.split(",") if a.strip())
    for item in items:
        try:
            ipaddress.ip_address(item)
        except ValueError:
            raise ValueError(f"comma-separated IP addresses such as 127.0.0.1 (got {item!r})") from None
    return items


def _roles(raw: str) -> tuple[str, ...]:
    staff = ("counsellor", "supervisor", "analyst", "admin")
    items = tuple(r.strip().lower() for r in raw.split(",") if r.strip())
    for role in items:
        if role not in staff:
            raise ValueError("a comma-separated list of " + ", ".join(staff) + " (or empty)")
    return items


def _setting(env: str, default: str, parse: Callable[[str], Any], doc: str) -> Any:
    """Declare a setting: the raw default is parsed like an environment value."""
    return field(default=MISSING, metadata={"env": env, "default": default, "parse": parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Everything Haven can be told. Each field names its environment variable and its meaning."""

    mode: str = _setting(
        "HAVEN_MODE", "development", _choice("development", "production"),
        "development creates demo staff on an empty database and uses the demo age check; "
        "production never does and demands explicit secrets.")
    host: str = _setting("HAVEN_HOST", "127.0.0.1", _text, "Address the server listens on.")
    port: int = _setting("HAVEN_PORT", "8080", _int(1, 65535), "Port the server listens on.")
    data_dir: str = _setting(
        "HAVEN_DATA_DIR", "var", _text,
        "Folder for the embedded database, the vault's ciphertext and the master key (relative to the project).")
    database_url: str = _setting(
        "DATABASE_URL", "", _database_url,
        "SQLAlchemy async URL. Empty means the embedded SQLite file <data_dir>/haven.db; "
        "postgresql+asyncpg://user@host/db switches to PostgreSQL.")
    redis_url: str = _setting(
        "REDIS_URL", "", _redis_url,
        "Empty for one process; redis://host:6379/0 lets several processes share socket.io events.")
    redis_channel: str = _setting(
        "HAVEN_REDIS_CHANNEL", "haven", _text,
        "Redis pub/sub channel for socket.io events; processes of one deployment share it.")
    auto_migrate: bool = _setting(
        "HAVEN_AUTO_MIGRATE", "true", _bool,
        "Apply pending database migrations at start. When false, start refuses to run on an old schema.")
    allowed_origins: tuple[str, ...] = _setting(
        "HAVEN_ALLOWED_ORIGINS", "http://127.0.0.1:8080,http://localhost:8080", _origins,
        "Origins allowed to open sockets and post forms (comma-separated). Never empty.")
    frame_ancestors: tuple[str, ...] = _setting(
        "HAVEN_FRAME_ANCESTORS", "'self'", _sources,
        "Host sites allowed to frame the chat widget (CSP frame-ancestors, space-separated).")
    trusted_proxies: tuple[str, ...] = _setting(
        "HAVEN_TRUSTED_PROXIES", "", _addresses,
        "Addresses of your load balancers (comma-separated). Only requests from these may set the client "
        "address and scheme with X-Forwarded-For and X-Forwarded-Proto; rate limits key on that address.")
    cookie_secure: str = _setting(
        "HAVEN_COOKIE_SECURE", "auto", _choice("auto", "always", "never"),
        "Secure flag on cookies: auto sets it whenever the request came over TLS "
        "(directly, or through a proxy listed in HAVEN_TRUSTED_PROXIES that sends X-Forwarded-Proto).")
    session_hours: int = _setting(
        "HAVEN_SESSION_HOURS", "12", _int(1, 24 * 30),
        "How long a sign-in lasts without activity (each request or message starts the time again).")
    staff_idle_minutes: int = _setting(
        "HAVEN_STAFF_IDLE_MINUTES", "30", _int(1, 24 * 60),
        "Staff are signed out after this long without activity (a page request or a message sent); "
        "consoles polling in the background do not count.")
    login_max_failures: int = _setting(
        "HAVEN_LOGIN_MAX_FAILURES", "5", _int(1, 100),
        "Failed sign-ins (per account and per address) before Haven starts making people wait.")
    login_backoff_seconds: float = _setting(
        "HAVEN_LOGIN_BACKOFF_SECONDS", "2", _float(0, 600),
        "First wait after too many failures; it doubles with each further failure (up to 15 minutes).")
    quick_exit_url: str = _setting(
        "HAVEN_QUICK_EXIT_URL", "https://www.bbc.co.uk/weather", _url,
        "Neutral page the quick-exit button jumps to.")
    emergency_contacts: str = _setting(
        "HAVEN_EMERGENCY_CONTACTS", "Emergency services: call 999; Childline: call 0800 1111", _text,
        "Shown when a message looks high risk. Separate contacts with ';'.")
    timezone: str = _setting("HAVEN_TIMEZONE", "Europe/London", _timezone, "Time zone of the opening hours.")
    opening_hours: tuple[tuple[int, int, int], ...] = _setting(
        "HAVEN_OPENING_HOURS", "mon-sun 00:00-24:00", _hours,
        "When counsellors are on (the default is always). Outside these the bot says when they are back.")
    message_max_chars: int = _setting(
        "HAVEN_MESSAGE_MAX_CHARS", "2000", _int(20, 20000), "Longest chat message accepted.")
    messages_per_minute: int = _setting(
        "HAVEN_MESSAGES_PER_MINUTE", "40", _int(1, 6000), "Messages one socket may send per minute.")
    metrics_token: str = _setting(
        "HAVEN_METRICS_TOKEN", "", _secret,
        "Bearer token Prometheus must send to read /metrics (it shows children waiting and counsellors online). "
        "Empty: /metrics answers 404 to everyone.")
    log_level: str = _setting(
        "HAVEN_LOG_LEVEL", "info", _choice("debug", "info", "warning", "error"), "Log verbosity.")
    demo_staff: bool = _setting(
        "HAVEN_DEMO_STAFF", "true", _bool,
        "In development, create one demo counsellor, supervisor and analyst on an empty database.")

    public_url: str = _setting(
        "HAVEN_PUBLIC_URL", "", lambda raw: _url(raw) if raw.strip() else "",
        "Address people reach Haven at, for links given to identity providers "
        "(empty: http://HAVEN_HOST:HAVEN_PORT).")
    # Counsellors ---------------------------------------------------------------------------------
    counsellor_capacity: int = _setting(
        "HAVEN_COUNSELLOR_CAPACITY", "2", _int(1, 10), "Chats a counsellor takes at once unless a supervisor sets otherwise.")
    counsellor_grace_seconds: int = _setting(
        "HAVEN_COUNSELLOR_GRACE_SECONDS", "60", _int(0, 3600),
        "How long a chat waits for a counsellor whose connection dropped before it goes back to the front of the queue.")
    idle_timeout_minutes: int = _setting(
        "HAVEN_IDLE_TIMEOUT_MINUTES", "30", _int(1, 24 * 60), "A live chat with no messages for this long is flagged as idle.")
    # Age verification ----------------------------------------------------------------------------
    verification_provider: str = _setting(
        "HAVEN_VERIFICATION_PROVIDER", "demo", _choice("demo", "yoti"),
        "Who checks a 13-17 year-old is under 18: demo (a page where a tester picks the outcome) or yoti.")
    yoti_base_url: str = _setting("HAVEN_YOTI_BASE_URL", "https://age.yoti.com", _url, "Yoti Age Verification API address.")
    yoti_api_key: str = _setting("HAVEN_YOTI_API_KEY", "", _text, "Yoti API key (secret).")
    yoti_sdk_id: str = _setting("HAVEN_YOTI_SDK_ID", "", _text, "Yoti SDK id.")
    yoti_notify_secret: str = _setting(
        "HAVEN_YOTI_NOTIFY_SECRET", "", _text, "Shared secret Yoti's notifications must carry (at least 16 characters).")
    yoti_public_key_file: str = _setting(
        "HAVEN_YOTI_PUBLIC_KEY_FILE", "", _text, "Yoti's public key (PEM file) for checking notification signatures.")
    # Uploads and images --------------------------------------------------------------------------
    upload_max_file_mb: int = _setting("HAVEN_UPLOAD_MAX_FILE_MB", "20", _int(1, 200), "Largest image file accepted.")
    upload_max_video_mb: int = _setting(
        "HAVEN_UPLOAD_MAX_VIDEO_MB", "200", _int(1, 2000), "Largest video file accepted (MP4, MOV, WebM, 3GP).")
    upload_max_video_seconds: int = _setting(
        "HAVEN_UPLOAD_MAX_VIDEO_SECONDS", "600", _int(1, 3600), "Longest video accepted, in seconds.")
    video_frame_interval_seconds: float = _setting(
        "HAVEN_VIDEO_FRAME_INTERVAL_SECONDS", "1.0", _float(0.1, 60.0),
        "Seconds between the video frames hashed (vPDQ samples one frame a second by default).")
    upload_max_report_mb: int = _setting(
        "HAVEN_UPLOAD_MAX_REPORT_MB", "500", _int(1, 5000), "Most bytes of images and videos accepted in one report.")
    upload_max_files: int = _setting("HAVEN_UPLOAD_MAX_FILES", "20", _int(1, 200), "Most images in one report.")
    upload_link_minutes: int = _setting(
        "HAVEN_UPLOAD_LINK_MINUTES", "30", _int(1, 24 * 60), "How long a one-time upload address stays valid.")
    max_decoded_mb: int = _setting(
        "HAVEN_MAX_DECODED_MB", "256", _int(16, 4096),
        "Most memory decoding one picture (or a video's frames) may take, checked before decoding: larger ones "
        "are refused as too big.")
    hashing_workers: int = _setting(
        "HAVEN_HASHING_WORKERS", "2", _int(1, 64),
        "Worker processes that decode and hash uploads and render review previews (one child uses at most half).")
    master_key_file: str = _setting(
        "HAVEN_MASTER_KEY_FILE", "", _text,
        "File holding the vault's 32-byte master key (mode 0600). Empty: <data_dir>/master.key, created on first run "
        "(development only; production must name one).")
    audit_key_file: str = _setting(
        "HAVEN_AUDIT_KEY_FILE", "", _text,
        "File holding the 32-byte key the audit log's chain is signed with (mode 0600; keep it off the database "
        "host if you can). Empty: <data_dir>/audit.key, created on first run (development only; production must "
        "name one outside HAVEN_DATA_DIR).")
    audit_checkpoint_file: str = _setting(
        "HAVEN_AUDIT_CHECKPOINT_FILE", "", _text,
        "Where `run.py audit checkpoint` appends signed checkpoints and `audit verify` reads them: a file the "
        "database's owner cannot write (another host, or write-once storage). Empty: <data_dir>/audit-checkpoints.")
    # Reports, review and the hash list -----------------------------------------------------------
    second_analyst: bool = _setting(
        "HAVEN_SECOND_ANALYST", "false", _bool, "Require a second analyst to confirm every decision.")
    review_break_minutes: int = _setting(
        "HAVEN_REVIEW_BREAK_MINUTES", "30", _int(1, 600), "Remind analysts to take a break after this long reviewing.")
    image_retention_days: int = _setting(
        "HAVEN_IMAGE_RETENTION_DAYS", "0", _int(0, 3650),
        "Days images are kept after a report is decided or withdrawn (0: purged at once).")
    undecided_alert_days: int = _setting(
        "HAVEN_UNDECIDED_ALERT_DAYS", "7", _int(1, 365), "Raise an alert for reports undecided for this long.")
    partner_requests_per_minute: int = _setting(
        "HAVEN_PARTNER_REQUESTS_PER_MINUTE", "120", _int(1, 100000), "Requests one partner API key may make per minute.")
    partner_refused_keys_per_minute: int = _setting(
        "HAVEN_PARTNER_REFUSED_KEYS_PER_MINUTE", "20", _int(1, 100000),
        "API requests with a missing or wrong key one address may make per minute (per server process) before "
        "it is answered 429 without a database look-up.")

    # Supervisors -----------------------------------------------------------------------------------
    queue_amber_wait_seconds: int = _setting(
        "HAVEN_QUEUE_AMBER_WAIT_SECONDS", "120", _int(1, 86400),
        "Queue health turns amber when the longest wait passes this.")
    queue_red_wait_seconds: int = _setting(
        "HAVEN_QUEUE_RED_WAIT_SECONDS", "300", _int(1, 86400),
        "Queue health turns red when the longest wait passes this.")
    queue_red_high_risk: int = _setting(
        "HAVEN_QUEUE_RED_HIGH_RISK", "1", _int(1, 1000),
        "Queue health turns red when this many high-risk children are waiting.")
    # Security and data protection -------------------------------------------------------------------
    totp_required_roles: tuple[str, ...] = _setting(
        "HAVEN_TOTP_REQUIRED_ROLES", "counsellor,supervisor,analyst,admin", _roles,
        "Staff roles that must use two-factor (TOTP) sign-in (comma-separated; empty for none). Every staff "
        "role reads children's chats or reports: leave them all on.")
    registrations_per_hour: int = _setting(
        "HAVEN_REGISTRATIONS_PER_HOUR", "20", _int(1, 100000), "New child accounts one address may create per hour.")
    uploads_per_minute: int = _setting(
        "HAVEN_UPLOADS_PER_MINUTE", "30", _int(1, 10000), "Image uploads one child may send per minute.")
    conversation_retention_days: int = _setting(
        "HAVEN_CONVERSATION_RETENTION_DAYS", "90", _int(1, 3650),
        "Closed conversations are removed this many days after they end.")

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def data_path(self) -> Path:
        path = Path(self.data_dir)
        return path if path.is_absolute() else ROOT / path

    @property
    def effective_public_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def effective_master_key_file(self) -> Path:
        return Path(self.master_key_file) if self.master_key_file else self.data_path / "master.key"

    @property
    def effective_audit_key_file(self) -> Path:
        return Path(self.audit_key_file) if self.audit_key_file else self.data_path / "audit.key"

    @property
    def effective_audit_checkpoint_file(self) -> Path:
        return Path(self.audit_checkpoint_file) if self.audit_checkpoint_file else self.data_path / "audit-checkpoints"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_path / 'haven.db'}"


def setting_fields() -> list[tuple[str, str, str, str]]:
    """(attribute, env var, raw default, doc) for every setting: the README table is checked against it."""
    return [(f.name, f.metadata["env"], f.metadata["default"], f.metadata["doc"]) for f in fields(Settings)]


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings; raise SettingsError naming the first bad setting and what it allows."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name in overrides:
            values[f.name] = overrides.pop(f.name)
            continue
        name = f.metadata["env"]
        raw = env.get(name, f.metadata["default"])
        try:
            values[f.name] = f.metadata["parse"](raw)
        except ValueError as exc:
            raise SettingsError(f"{name}={raw!r} is not allowed: expected {exc}") from None
    if overrides:
        raise SettingsError(f"unknown settings: {', '.join(sorted(overrides))}")
    settings = Settings(**values)
    if settings.production and settings.demo_staff and env.get("HAVEN_DEMO_STAFF") is not None:
        raise SettingsError("HAVEN_DEMO_STAFF=true is not allowed in production: expected false")
    if settings.verification_provider == "yoti":
        if not settings.yoti_api_key or not settings.yoti_sdk_id:
            raise SettingsError("HAVEN_VERIFICATION_PROVIDER=yoti needs HAVEN_YOTI_API_KEY and HAVEN_YOTI_SDK_ID")
        if len(settings.yoti_notify_secret) < 16 and not settings.yoti_public_key_file:
            raise SettingsError("HAVEN_VERIFICATION_PROVIDER=yoti needs HAVEN_YOTI_NOTIFY_SECRET (16+ characters) "
                                "or HAVEN_YOTI_PUBLIC_KEY_FILE to check notifications")
    if settings.production and settings.verification_provider == "demo":
        raise SettingsError("HAVEN_VERIFICATION_PROVIDER=demo is not allowed in production: expected yoti")
    if settings.production and not settings.master_key_file:
        raise SettingsError("HAVEN_MASTER_KEY_FILE must be set in production: expected a path to a 32-byte key file")
    if settings.production and not settings.audit_key_file:
        raise SettingsError("HAVEN_AUDIT_KEY_FILE must be set in production: expected a path to a 32-byte key file")
    return settings
