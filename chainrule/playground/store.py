"""The server's sessions: one per browser tab, at most ``limit``, dropped when idle.

A session id is a random token the page keeps in memory (not in storage), so every tab gets
its own network and no other site can guess it. A session with an open event stream is never
idle; one without is dropped ``idle_seconds`` after its last request.
"""

from __future__ import annotations

import secrets
import threading
import time

from .config import Config
from .session import Session

__all__ = ["SessionStore", "StoreFull"]


class StoreFull(RuntimeError):
    """Every session slot is taken by a live session."""


class SessionStore:
    def __init__(self, limit: int = 8, idle_seconds: float = 300.0):
        self.limit, self.idle_seconds = limit, idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())

    def create(self, config: Config) -> tuple[str, Session]:
        """A new session for ``config`` and its id; ``StoreFull`` when all slots are live."""
        with self._lock:
            self._expire()
            if len(self._sessions) >= self.limit:
                raise StoreFull(f"all {self.limit} playground sessions are in use; close a tab "
                                "or wait until one has been idle for "
                                f"{self.idle_seconds:g} s")
            key = secrets.token_urlsafe(16)
            self._sessions[key] = session = Session(config)
            return key, session

    def get(self, key) -> Session:
        """The session ``key`` (its idle clock restarted); ``KeyError`` when there is none."""
        with self._lock:
            self._expire()
            session = self._sessions.get(key) if isinstance(key, str) else None
            if session is None:
                raise KeyError(key)
            session.touch()
            return session

    def _expire(self) -> None:
        now = time.monotonic()
        for key, session in list(self._sessions.items()):
            if session.streams == 0 and now - session.last_seen > self.idle_seconds:
                del self._sessions[key]
