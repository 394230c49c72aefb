"""Who may talk to the studio: Host allow-list, access token, cross-site (CSRF) checks.

One ASGI middleware (:class:`Guard`) runs before any route:

* **Host.** The ``Host`` header must name the studio: a loopback name, the address the
  connection arrived on (an IP literal), the ``--host`` name, or a name given with
  ``--allow-host``. Anything else is 403, so a web page elsewhere cannot reach the studio
  through DNS rebinding.
* **Token.** Listening beyond loopback needs a token (``--token``, or one generated and printed
  at start); on loopback it is optional. Every request must carry it: the cookie set by a
  first visit to ``/?token=...`` (which then redirects to the URL without it), or a header
  ``X-Gankit-Token: ...`` / ``Authorization: Bearer ...``. Without it: 403.
* **Cross-site POSTs.** Every POST must be ``application/json`` or ``multipart/form-data``
  (else 415) and come from this origin: an ``Origin`` (or, without one, ``Referer``) equal to
  the studio's own, or, from a client that sends neither (a script), a session id the studio
  issued (header ``X-Gankit-Session``) or the token in a header. A foreign Origin is 403.
  Browsers cannot add those headers to a cross-site request without a CORS preflight, which
  the studio never grants.
* **Slow bodies.** A request body must arrive whole within ``body_timeout`` seconds of the
  app's first read, however it trickles, else 408 and the connection is closed (the request
  head has its own total deadline in :mod:`.server`).

Every response also carries ``Content-Security-Policy``, ``X-Content-Type-Options`` and
``Cache-Control: no-store`` (static files excepted) headers.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import socket
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.exceptions import HTTPException

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_HEADER = "x-gankit-token"
SESSION_HEADER = "x-gankit-session"
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
POST_TYPES = ("application/json", "multipart/form-data")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:80`` -> ``::1``, ``a.b:80`` -> ``a.b``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.index("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass
class Policy:
    """The access rules of one studio (see the module docstring)."""

    host: str = "127.0.0.1"
    token: str | None = None
    allow_hosts: tuple[str, ...] = ()
    body_timeout: float = 15.0  # seconds for a whole request body (a total deadline)
    cookie: str = "gankit_token"
    names: frozenset = field(init=False)

    def __post_init__(self):
        names = set(LOOPBACK_NAMES) | {h.strip().lower() for h in self.allow_hosts if h.strip()}
        if not is_loopback(self.host) and self.host not in ("0.0.0.0", "::", ""):
            names.add(self.host.lower())
        if not is_loopback(self.host):  # the machine's own names
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        self.names = frozenset(names)

    @classmethod
    def for_host(cls, host: str, token: str | None = None, allow_hosts=(), port: int = 0,
                 body_timeout: float = 15.0) -> Policy:
        """The policy of a studio on ``host``: beyond loopback a token is required (a new random
        one unless ``token`` is given)."""
        if token is None and not is_loopback(host):
            token = secrets.token_urlsafe(24)
        return cls(host, token, tuple(allow_hosts), body_timeout, f"gankit_token_{port}" if port else "gankit_token")

    def host_ok(self, header: str, local_addr: str | None) -> bool:
        name = host_name(header)
        if name in self.names:
            return True
        # An IP literal equal to the address this connection arrived on is not a rebinding.
        return bool(local_addr) and _is_ip(name) and ipaddress.ip_address(name) == ipaddress.ip_address(local_addr)


class Guard:
    """The ASGI middleware that applies a :class:`Policy` (``sessions`` verifies session ids)."""

    def __init__(self, app, policy: Policy, sessions):
        self.app, self.policy, self.sessions = app, policy, sessions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        pol = self.policy
        server = scope.get("server") or (None, None)
        if not pol.host_ok(headers.get("host", ""), server[0]):
            return await _error(send, 403, "forbidden host (start the studio with --allow-host NAME to use this name)")
        header_token = headers.get(TOKEN_HEADER) or _bearer(headers.get("authorization", ""))
        if pol.token is not None:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            if scope["method"] == "GET" and "token" in query and _same(query["token"], pol.token):
                return await _redirect_setting_cookie(scope, send, pol, query)
            given = header_token or _cookie(headers.get("cookie", ""), pol.cookie)
            if not given or not _same(given, pol.token):
                return await _error(send, 403, "this studio needs its access token: open the URL it printed "
                                               "at start (…/?token=...) or send the header X-Gankit-Token")
        if scope["method"] == "POST":
            why = self._cross_site(headers, scope, bool(header_token))
            if why:
                status = 415 if why.startswith("POST bodies") else 403
                return await _error(send, status, why)
        return await self.app(scope, self._timed(receive), _with_headers(send, scope["path"]))

    def _cross_site(self, headers: dict, scope, header_token: bool) -> str | None:
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '').lower()}"
        origin = headers.get("origin")
        referer = headers.get("referer")
        if origin is not None:
            if origin.lower() != own:
                return "cross-origin request refused"
        elif referer:
            r = urlsplit(referer)
            if f"{r.scheme}://{r.netloc}".lower() != own:
                return "cross-origin request refused"
        else:
            client = (scope.get("client") or ("?",))[0]
            if not (header_token or self.sessions.valid(headers.get(SESSION_HEADER), client)):
                return "POST needs a same-origin Origin or Referer header, or the X-Gankit-Session header of /api/info"
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype not in POST_TYPES:
            return "POST bodies must be application/json or multipart/form-data"
        return None

    def _timed(self, receive):
        """``receive`` under one deadline for the whole body, ``body_timeout`` s from the first
        read: a per-read timeout would restart with each byte, so a client trickling one byte
        every few seconds could hold its connection (one of ``limit_concurrency``) for days."""
        timeout = self.policy.body_timeout
        deadline = None
        done = False  # once the body is complete, receive() only waits for a disconnect: untimed

        async def receive_within():
            nonlocal done, deadline
            if done:
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + timeout
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise HTTPException(408, f"request: the body did not arrive within {timeout:g} s",
                                    headers={"Connection": "close"}) from None
            done = message["type"] != "http.request" or not message.get("more_body", False)
            return message
        return receive_within


def _same(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _bearer(value: str) -> str | None:
    return value[7:].strip() if value[:7].lower() == "bearer " else None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def _with_headers(send, path: str):
    """``send`` plus the security headers; a plain-text error from the framework (413 from
    the body limit, ...) is rewritten as the studio's JSON ``{"error": ...}``."""
    plain_error = False

    async def send_with_headers(message):
        nonlocal plain_error
        if message["type"] == "http.response.start":
            h = [(k, v) for k, v in message.get("headers", [])]
            ctype = dict(h).get(b"content-type", b"")
            plain_error = message["status"] >= 400 and ctype.startswith(b"text/plain")
            if plain_error:
                h = [(k, v) for k, v in h if k not in (b"content-type", b"content-length")]
                h.append((b"content-type", b"application/json; charset=utf-8"))
            h += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                  (b"referrer-policy", b"same-origin")]
            if not path.startswith("/static/"):
                h.append((b"cache-control", b"no-store"))
            message = {**message, "headers": h}
        elif message["type"] == "http.response.body" and plain_error:
            text = message.get("body", b"").decode("utf-8", "replace").strip()  # one short chunk
            message = {**message, "body": json.dumps({"error": text or "error"}).encode(), "more_body": False}
        await send(message)
    return send_with_headers


async def _error(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
                            (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_setting_cookie(scope, send, pol: Policy, query: dict) -> None:
    rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
    # A path on this studio only: "//evil.com/" (or "/\\evil.com") as a Location would be another
    # host to the browser (an open redirect), so the leading slashes collapse to one.
    where = quote("/" + scope["path"].lstrip("/\\")) + ("?" + rest if rest else "")
    cookie = f"{pol.cookie}={pol.token}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", where.encode()), (b"set-cookie", cookie.encode()),
                            (b"content-length", b"0"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": b""})
