"""History stores: which one is configured; the interface and result types they share (lib.stores.base)."""

from __future__ import annotations

from lib.errors import ConversationNotFound, StoreUnavailable
from lib.settings import HistorySettings
from lib.stores.base import Bucket, Charge, RoomAccess, Store, Usage

__all__ = ["Bucket", "Charge", "ConversationNotFound", "RoomAccess", "Store", "StoreUnavailable", "Usage",
           "open_store"]


def open_store(cfg: HistorySettings) -> Store | None:
    """The configured store (Supabase, else SQLite at HISTORY_DB), or None when history is off; only the history
    door (lib/history.py) calls it."""
    if cfg.backend == "supabase":
        from lib.stores.supabase import SupabaseStore

        return SupabaseStore(cfg.supabase_url, cfg.supabase_service_role_key, cfg.timeout)
    if cfg.backend == "sqlite":
        from lib.stores.sqlite import SqliteStore

        return SqliteStore(cfg.sqlite_path)
    return None
