"""Every ORM model, imported here so Alembic and create_all see one complete metadata."""

import importlib
import pkgutil

from bot.models.base import Base

# Area modules register their tables on Base when imported; import them all.
for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")

metadata = Base.metadata

__all__ = ["Base", "metadata"]
