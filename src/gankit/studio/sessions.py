"""Per-browser-session state: ids issued (and signed) by the server, limits per client.

A session id is made by :meth:`SessionStore.issue` for one client (the peer's address): 96
random bits and an HMAC of them and the client under a key that lives only in this process.
The page gets one from ``/api/info`` and sends it with every request (header
``X-Gankit-Session``). The store accepts only ids it signed for *that* client, so a client
cannot choose ids, and cannot use another client's.

State that belongs to one user (their 2D playground) lives in that user's :class:`Session`.
Limits are per client: one client holds at most ``per_client`` sessions (its own least
recently used one makes room), and when the whole store is full (``max_sessions``), a new
session waits for one to expire (``ttl`` seconds idle) rather than evicting anybody else's:
:meth:`SessionStore.open` then answers "busy" (HTTP 429). So no client can evict another's.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

from ..errors import UserError


class SessionsFull(Exception):
    """Every session slot is held by other clients' live sessions (HTTP 429)."""


class Session:
    """One user's state: a lock (requests of one user run one at a time) and a dict."""

    def __init__(self, sid: str, client: str):
        self.id, self.client = sid, client
        self.lock = threading.Lock()
        self.data: dict = {}
        self.seen = time.monotonic()


class SessionStore:
    """Sessions by id, each owned by one client; see the module docstring for the limits."""

    def __init__(self, max_sessions: int = 256, per_client: int = 16, ttl: float = 3600.0):
        self.max_sessions, self.per_client, self.ttl = max_sessions, per_client, ttl
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    # ------------------------------------------------------------------ ids
    def _sign(self, nonce: str, client: str) -> str:
        mac = hmac.new(self._key, f"{nonce}|{client}".encode(), hashlib.sha256).hexdigest()
        return mac[:32]

    def issue(self, client: str) -> str:
        """A fresh id for ``client`` (nothing is stored until the session is opened)."""
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}.{self._sign(nonce, client)}"

    def valid(self, sid: str | None, client: str) -> bool:
        """True when ``sid`` is an id this store issued to ``client``."""
        if not sid or len(sid) > 64 or sid.count(".") != 1 or not sid.isascii():
            return False  # compare_digest refuses non-ASCII str (a header may carry any latin-1 byte)
        nonce, mac = sid.split(".")
        return hmac.compare_digest(mac.encode(), self._sign(nonce, client).encode())

    # ------------------------------------------------------------------ sessions
    def _expire(self, now: float) -> None:
        for old in [k for k, s in self._sessions.items() if now - s.seen > self.ttl]:
            del self._sessions[old]

    def _lookup(self, sid: str | None, client: str, create: bool) -> Session | None:
        if not self.valid(sid, client):
            raise UserError("session: missing or unknown session id (reload the page)")
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            s = self._sessions.get(sid)
            if s is None and create:
                mine = [k for k, v in self._sessions.items() if v.client == client]
                if len(mine) >= self.per_client:
                    del self._sessions[mine[0]]  # this client's least recently used session
                elif len(self._sessions) >= self.max_sessions:
                    raise SessionsFull("the studio has as many sessions as it keeps; try again later")
                s = self._sessions[sid] = Session(sid, client)
            if s is not None:
                self._sessions.move_to_end(sid)
                s.seen = now
            return s

    def open(self, sid: str | None, client: str) -> Session:
        """The session ``sid`` of ``client``, created when new (``UserError`` for an id this
        store did not issue to this client; :class:`SessionsFull` when no slot is free)."""
        return self._lookup(sid, client, create=True)

    def get(self, sid: str | None, client: str) -> Session | None:
        """The existing session ``sid`` of ``client``, or None (never creates one)."""
        return self._lookup(sid, client, create=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
