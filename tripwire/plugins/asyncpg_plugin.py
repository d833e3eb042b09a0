"""``from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin``."""

from tripwire_drivers.asyncpg import AsyncpgPlugin

__all__ = ["AsyncpgPlugin"]
