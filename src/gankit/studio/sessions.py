"""Per-browser-session state, keyed by a random session id, safe across the server's threads.

A session id is made by :func:`new_session_id` (128 random bits) and sent by the page with
every request (header ``X-Gankit-Session``). State that belongs to one user (their 2D
playground) lives in that user's :class:`Session`; the store keeps at most ``max_sessions``
(least recently used are dropped) and forgets sessions idle longer than ``ttl`` seconds, so a
server left running does not grow without bound.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict

from ..errors import UserError

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_session_id() -> str:
    """A fresh, unguessable session id (URL-safe text)."""
    return secrets.token_urlsafe(16)


class Session:
    """One user's state: a lock (requests of one user run one at a time) and a dict."""

    def __init__(self, sid: str):
        self.id = sid
        self.lock = threading.Lock()
        self.data: dict = {}
        self.seen = time.monotonic()


class SessionStore:
    """Sessions by id; :meth:`get` creates a session for a well-formed id it has not seen."""

    def __init__(self, max_sessions: int = 64, ttl: float = 3600.0):
        self.max_sessions, self.ttl = max_sessions, ttl
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def get(self, sid: str | None) -> Session:
        """The session ``sid`` (created if new); ``UserError`` for a missing or malformed id."""
        if not sid or not _ID.match(sid):
            raise UserError("session: missing or malformed session id (reload the page)")
        now = time.monotonic()
        with self._lock:
            for old in [k for k, s in self._sessions.items() if now - s.seen > self.ttl]:
                del self._sessions[old]
            s = self._sessions.get(sid)
            if s is None:
                s = self._sessions[sid] = Session(sid)
                while len(self._sessions) > self.max_sessions:
                    self._sessions.popitem(last=False)
            self._sessions.move_to_end(sid)
            s.seen = now
            return s

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
