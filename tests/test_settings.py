"""Settings load once from defaults plus the environment, and bad values stop start-up clearly."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from config import SettingsError, load_settings, setting_fields

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_embedded_single_process_setup() -> None:
    s = load_settings({})
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert s.effective_database_url.endswith("var/haven.db")
    assert s.redis_url == ""
    assert s.port == 8080
    assert s.allowed_origins == ("http://127.0.0.1:8080", "http://localhost:8080")
    assert "999" in s.emergency_contacts and "0800 1111" in s.emergency_contacts


def test_settings_are_frozen() -> None:
    s = load_settings({})
    with pytest.raises(FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_environment_overrides_defaults() -> None:
    s = load_settings({"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1/test", "HAVEN_PORT": "9000",
                       "REDIS_URL": "redis://127.0.0.1:6379/0", "HAVEN_OPENING_HOURS": "mon-fri 09:00-17:30"})
    assert s.effective_database_url == "postgresql+asyncpg://postgres@127.0.0.1/test"
    assert s.port == 9000 and s.redis_url.startswith("redis://")
    assert s.opening_hours == tuple((d, 540, 1050) for d in range(5))


@pytest.mark.parametrize("name,value,allowed", [
    ("HAVEN_PORT", "eighty", "whole number from 1 to 65535"),
    ("HAVEN_PORT", "70000", "whole number from 1 to 65535"),
    ("DATABASE_URL", "mysql://x", "postgresql+asyncpg"),
    ("REDIS_URL", "http://x", "redis://"),
    ("HAVEN_ALLOWED_ORIGINS", "", "at least one origin"),
    ("HAVEN_ALLOWED_ORIGINS", " , ", "at least one origin"),
    ("HAVEN_ALLOWED_ORIGINS", "example.org", "origins like"),
    ("HAVEN_MODE", "prod", "development, production"),
    ("HAVEN_AUTO_MIGRATE", "maybe", "true or false"),
    ("HAVEN_TIMEZONE", "Mars/Olympus", "IANA time zone"),
    ("HAVEN_OPENING_HOURS", "weekdays 9-5", "mon-fri 09:00-22:00"),
    ("HAVEN_QUICK_EXIT_URL", "javascript:alert(1)", "absolute http(s) URL"),
])
def test_a_bad_value_names_the_setting_and_what_is_allowed(name: str, value: str, allowed: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    assert name in str(info.value) and allowed in str(info.value)


def test_demo_staff_cannot_be_switched_on_in_production() -> None:
    with pytest.raises(SettingsError, match="HAVEN_DEMO_STAFF"):
        load_settings({"HAVEN_MODE": "production", "HAVEN_DEMO_STAFF": "true"})


def test_bad_setting_stops_the_server_with_a_clear_message() -> None:
    result = subprocess.run([sys.executable, "run.py", "serve"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HAVEN_PORT": "nope"}, timeout=60)
    assert result.returncode == 2
    assert "HAVEN_PORT='nope' is not allowed: expected a whole number from 1 to 65535" in result.stderr


def test_every_setting_is_documented_in_the_readme_and_the_example_file() -> None:
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "config" / "haven.example.env").read_text()
    for _, env, _, doc in setting_fields():
        assert f"`{env}`" in readme, f"{env} missing from README (run scripts/gen-settings-docs)"
        assert f"# {env}=" in example or f"{env}=" in example, f"{env} missing from config/haven.example.env"
        assert doc


def test_run_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "migrate", "create-user", "hash"):
        assert command in result.stdout


def test_every_staff_role_needs_two_factor_by_default() -> None:
    """Issue 14, M6: counsellors and admins read children's chats too; none may sign in on a password alone."""
    from bot.models.accounts import STAFF_ROLES

    assert load_settings({}).totp_required_roles == STAFF_ROLES


def test_production_names_the_audit_key_file() -> None:
    """Issue 14, M3: the key the audit chain is signed with lives outside the database, named explicitly."""
    base = {"HAVEN_MODE": "production", "HAVEN_DEMO_STAFF": "false", "HAVEN_VERIFICATION_PROVIDER": "yoti",
            "HAVEN_YOTI_API_KEY": "k", "HAVEN_YOTI_SDK_ID": "s", "HAVEN_YOTI_NOTIFY_SECRET": "x" * 16,
            "HAVEN_MASTER_KEY_FILE": "/etc/haven/master.key"}
    with pytest.raises(SettingsError, match="HAVEN_AUDIT_KEY_FILE"):
        load_settings(base)
    assert load_settings({**base, "HAVEN_AUDIT_KEY_FILE": "/etc/haven/audit.key"}).production
