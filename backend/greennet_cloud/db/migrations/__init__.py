"""Versioned migrations, applied in order by `greennet_cloud.db.migrate`.

Each module defines `VERSION`, `NAME` and `upgrade(conn)` and never changes once released:
it carries its own frozen table definitions rather than importing the current schema.
"""

from __future__ import annotations

from . import v0001_initial

MIGRATIONS = (v0001_initial,)
