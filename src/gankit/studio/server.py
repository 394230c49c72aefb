"""The studio's server: uvicorn serving the FastAPI app of :mod:`.app` on one socket.

uvicorn parses HTTP (h11), closes idle keep-alive connections (``timeout_keep_alive``), refuses
headers beyond h11's size limit and answers 503 beyond ``limit_concurrency`` connections or
requests. One thing it does not do is time out a request head that never completes, so the
protocol here adds that (``header_timeout``, a total deadline: 408, then the connection is
closed); a body gets its own total deadline from :class:`gankit.studio.security.Guard`
(``body_timeout``), so a client that trickles a byte at a time holds a connection for
seconds, not days. Bytes that are not HTTP get uvicorn's 400, as one line of JSON. Uvicorn's event loop holds
every connection without a thread each, so half-open connections cost a socket, not a thread.

The socket is bound when the server is made (a port in use is a one-line error at once;
``port=0`` picks a free one, see ``.url``).
"""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import UserError
from .api import Studio
from .app import create_app
from .security import Policy, is_loopback

_TIMEOUT_BODY = b'{"error": "request: the request head did not arrive in time"}'
_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: "
                     + str(len(_TIMEOUT_BODY)).encode() + b"\r\nconnection: close\r\n\r\n" + _TIMEOUT_BODY)


class _HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for each request head (``header_timeout`` s)."""

    header_timeout = 10.0

    def connection_made(self, transport):
        self._head_timer = None
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._got_bytes = False
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timeout)

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        super().data_received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request head (keep-alive) has its own deadline

    def connection_lost(self, exc) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to bytes that are not HTTP, as the studio's one line of JSON."""
        body = json.dumps({"error": f"request: {msg.rstrip('.').lower()}"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def _head_timeout(self) -> None:
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return  # closed, or the app is serving a request (its body reads are timed by the Guard)
        if self._got_bytes and self.conn.their_state is h11.IDLE:
            self.transport.write(_TIMEOUT_RESPONSE)  # part of a head came: say why before closing
        self.transport.close()


class StudioServer:
    """A studio on a bound socket: :meth:`serve_forever` (blocking) or :func:`start_in_thread`."""

    def __init__(self, studio: Studio, host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
                 token: str | None = None, allow_hosts=(), limit_concurrency: int = 256,
                 header_timeout: float = 10.0, body_timeout: float = 15.0, keep_alive: int = 5,
                 workers: int = 2, queue: int = 128):
        self.studio = studio
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
            self.socket = socket.socket(info[0], socket.SOCK_STREAM)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(info[4])
            self.socket.listen(1024)
        except OSError as e:
            raise UserError(f"--port {port} --host {host}: cannot listen ({e.strerror or e})") from None
        self.server_address = self.socket.getsockname()[:2]
        self.policy = Policy.for_host(host, token, allow_hosts, self.server_address[1], body_timeout)
        self.app = create_app(studio, self.policy, workers, queue)
        protocol = type("StudioProtocol", (_HeadTimeoutProtocol,), {"header_timeout": header_timeout})
        # verbose: uvicorn's own log setup (one line per request); else no global logging changes
        log_config = uvicorn.config.LOGGING_CONFIG if verbose else None
        config = uvicorn.Config(self.app, http=protocol, lifespan="off", log_config=log_config,
                                log_level="info" if verbose else "warning", access_log=verbose,
                                limit_concurrency=limit_concurrency, timeout_keep_alive=keep_alive,
                                server_header=False)
        self.uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address (without the token)."""
        host, port = self.server_address
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    @property
    def login_url(self) -> str:
        """The address to open first: with ``?token=`` when the studio has a token."""
        return self.url + (f"?token={self.policy.token}" if self.policy.token else "")

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (or Ctrl-C in the main thread)."""
        self.uvicorn.run(sockets=[self.socket])

    def shutdown(self) -> None:
        """Stop serving (and wait for the serving thread, when there is one)."""
        self.uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(30)

    def server_close(self) -> None:
        """Close the listening socket."""
        self.socket.close()


def make_server(checkpoint=None, runs=None, port: int = 0, host: str = "127.0.0.1", detector=None,
                verbose: bool = False, **options) -> StudioServer:
    """A ready (not yet serving) studio server; ``port=0`` picks a free port (see ``.url``).

    ``options``: ``token``, ``allow_hosts``, ``limit_concurrency``, ``header_timeout``,
    ``body_timeout``, ``keep_alive``, ``workers``, ``queue`` (see :class:`StudioServer`)."""
    return StudioServer(Studio(checkpoint, runs, detector), host, port, verbose, **options)


def start_in_thread(server: StudioServer) -> threading.Thread:
    """Serve in a daemon thread (for tests and notebooks) and wait until it answers; stop with
    ``server.shutdown()``."""
    t = threading.Thread(target=server.serve_forever, name="gankit-studio", daemon=True)
    server._thread = t
    t.start()
    deadline = time.monotonic() + 30
    while not server.uvicorn.started and t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return t


def serve(checkpoint=None, runs=None, port: int = 7860, host: str = "127.0.0.1", detector=None,
          threads: int = 1, verbose: bool = False, token: str | None = None, allow_hosts=(),
          workers: int = 2) -> None:
    """Run the studio until Ctrl-C (what ``gankit studio`` does).

    With neither ``checkpoint`` nor ``runs``, ``./runs`` is used when it exists (else only the
    2D playground has something to show). ``threads``: PyTorch intra-op threads per worker;
    ``workers``: how many pictures are made at once. Beyond loopback a token is required: the
    given one, else a new one, printed in the URL to open.
    """
    import torch

    if threads < 1:
        raise UserError(f"--threads must be >= 1, got {threads}")
    if workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be in 0..65535, got {port}")
    if token is not None and len(token) < 16:
        raise UserError("--token: use at least 16 characters (or leave it out to get a random one)")
    if checkpoint is None and runs is None and Path("runs").is_dir():
        runs = "runs"  # where `gankit train` puts runs by default
    torch.set_num_threads(threads)
    server = make_server(checkpoint, runs, port, host, detector, verbose, token=token,
                         allow_hosts=tuple(allow_hosts or ()), workers=workers)
    print(f"gankit studio: {server.login_url}  (Ctrl-C to stop)", flush=True)
    if not is_loopback(host):
        print("gankit studio: reachable from the network; only who has the token above gets in "
              "(plain HTTP: use it on a network you trust, or behind an HTTPS proxy)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
