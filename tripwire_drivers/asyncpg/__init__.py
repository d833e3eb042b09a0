"""tripwire's asyncpg driver: ``tripwire.asyncpg``."""

try:
    import asyncpg as _asyncpg  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tripwire.asyncpg needs asyncpg: pip install 'python-tripwire[asyncpg]'"
    ) from exc

from .connection import Connection
from .copying import CopyOut
from .errors import pg_error
from .handles import PoolHandle, SessionHandle
from .plugin import AsyncpgPlugin
from .prepared import Statement
from .records import Record, genuine_records, is_genuine, record, records
from .server import ServerInfo

__all__ = [
    "AsyncpgPlugin",
    "Connection",
    "CopyOut",
    "PoolHandle",
    "Record",
    "ServerInfo",
    "SessionHandle",
    "Statement",
    "genuine_records",
    "is_genuine",
    "pg_error",
    "record",
    "records",
]
