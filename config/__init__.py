"""Settings: loaded once at start-up and passed down as plain values."""

from config.settings import Settings, SettingsError, load_settings, setting_fields

__all__ = ["Settings", "SettingsError", "load_settings", "setting_fields"]
