"""The studio's HTTP server: Python's ``ThreadingHTTPServer``, a JSON API and one static page.

No web framework and no JavaScript build: ``static/index.html``, ``app.js`` and ``style.css``
are served as they are. Each request runs in its own thread; :class:`gankit.studio.api.Studio`
keeps shared state safe. Requests are bounded before they are read (a JSON body at most
``MAX_JSON_BYTES``, an upload at most ``images.MAX_UPLOAD_BYTES``), and every failure is a
JSON ``{"error": "..."}`` the page shows: a one-line message for a user mistake (400/413), a
short note for an internal error (500, with the traceback only in the server's log).

When it listens on a loopback address (the default, 127.0.0.1) it also refuses requests whose
``Host`` header is not a loopback name, so a web page elsewhere cannot reach it through DNS
rebinding.
"""
from __future__ import annotations

import ipaddress
import json
import mimetypes
import re
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..errors import UserError
from . import images
from .api import Studio

STATIC = Path(__file__).parent / "static"
MAX_JSON_BYTES = 64 * 1024
DRAIN_BYTES = 64 * 1024 * 1024  # oversized uploads up to this size are read and dropped
SESSION_HEADER = "X-Gankit-Session"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

GET_JSON = {"/api/info": "info", "/api/model": "model", "/api/runs": "runs", "/api/run": "run",
            "/api/compare": "compare"}
POST_JSON = {"/api/generate": "generate", "/api/interpolate": "interpolate", "/api/edit": "edit",
             "/api/stylemix": "stylemix"}
POST_SESSION = {"/api/playground/new": "playground_new", "/api/playground/step": "playground_step"}
POST_UPLOAD = {"/api/translate": "translate", "/api/detect": "detect"}


class HTTPError(Exception):
    """An error with an HTTP status (413 too large, 404 not found, ...)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Handler(BaseHTTPRequestHandler):
    """Routes requests to :class:`Studio` methods (``self.server.studio``)."""

    server_version = "gankit-studio"
    protocol_version = "HTTP/1.1"

    # ------------------------------------------------------------------ plumbing
    def log_message(self, fmt, *args):  # quiet unless asked: the page is the interface
        if getattr(self.server, "verbose", False):
            sys.stderr.write(f"studio: {self.address_string()} - {fmt % args}\n")

    def _send(self, status: int, body: bytes, ctype: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=60" if cache else "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                         "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj, allow_nan=False).encode(), "application/json; charset=utf-8")

    def _query(self) -> dict:
        q = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        return {k: v[-1] for k, v in q.items()}

    def _body(self, limit: int, what: str) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise HTTPError(411, f"{what}: the request has no Content-Length")
        try:
            n = int(length)
        except ValueError:
            raise HTTPError(400, f"{what}: bad Content-Length") from None
        if n < 0:
            raise HTTPError(400, f"{what}: bad Content-Length")
        if n > limit:
            # Read (and drop) a moderately oversized body so the browser, still sending, gets the
            # 413 answer rather than a reset connection; beyond DRAIN_BYTES just hang up.
            left = n if n <= DRAIN_BYTES else 0
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
            self.close_connection = True
            raise HTTPError(413, f"{what}: {n:,} bytes is more than the limit of {limit:,} bytes")
        return self.rfile.read(n)

    def _json_body(self) -> dict:
        raw = self._body(MAX_JSON_BYTES, "request")
        if not raw:
            return {}
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UserError("request: the body is not valid JSON") from None
        if not isinstance(obj, dict):
            raise UserError("request: expected a JSON object")
        return obj

    def _host_ok(self) -> bool:
        if not getattr(self.server, "loopback_only", False):
            return True
        host = (self.headers.get("Host") or "").strip()
        name = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
        return name.lower() in LOOPBACK_NAMES

    # ------------------------------------------------------------------ dispatch
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method: str) -> None:
        studio: Studio = self.server.studio
        path = urlsplit(self.path).path
        try:
            if not self._host_ok():
                raise HTTPError(403, "forbidden host (the studio answers on localhost only)")
            if method == "GET" and path in ("/", "/index.html"):
                return self._static("index.html")
            if method == "GET" and path.startswith("/static/"):
                return self._static(path[len("/static/"):])
            if method == "GET" and path == "/api/run/sample":
                return self._send(200, studio.run_sample(self._query()), "image/png")
            if method == "GET" and path in GET_JSON:
                return self._json(200, getattr(studio, GET_JSON[path])(self._query()))
            if method == "POST" and path in POST_JSON:
                return self._json(200, getattr(studio, POST_JSON[path])(self._json_body()))
            if method == "POST" and path in POST_SESSION:
                body = self._json_body()
                return self._json(200, getattr(studio, POST_SESSION[path])(body, self.headers.get(SESSION_HEADER)))
            if method == "POST" and path in POST_UPLOAD:
                data = self._body(images.MAX_UPLOAD_BYTES, "upload")
                return self._json(200, getattr(studio, POST_UPLOAD[path])(self._query(), data))
            raise HTTPError(404 if method == "GET" or path.startswith("/api/") else 405, f"no such page: {path[:80]}")
        except UserError as e:
            self._json(400, {"error": str(e)})
        except HTTPError as e:
            self._json(e.status, {"error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # noqa: BLE001 - the page gets a note; the log gets the traceback
            traceback.print_exc(file=sys.stderr)
            try:
                self._json(500, {"error": f"internal error ({type(e).__name__}); see the studio's log"})
            except OSError:
                pass

    def _static(self, name: str) -> None:
        if not _STATIC_NAME.match(name) or not (STATIC / name).is_file():
            raise HTTPError(404, f"no such file: {name[:80]}")
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        self._send(200, (STATIC / name).read_bytes(), ctype)


class StudioServer(ThreadingHTTPServer):
    """A threading HTTP server holding the :class:`Studio`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the listen backlog: many browsers (or a burst of requests) at once

    def __init__(self, studio: Studio, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.studio, self.verbose = studio, verbose
        self.loopback_only = _is_loopback(host)
        try:
            super().__init__((host, port), Handler)
        except OSError as e:
            raise UserError(f"--port {port} --host {host}: cannot listen ({e.strerror or e})") from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


def make_server(checkpoint=None, runs=None, port: int = 0, host: str = "127.0.0.1", detector=None,
                verbose: bool = False) -> StudioServer:
    """A ready (not yet serving) studio server; ``port=0`` picks a free port (see ``.url``)."""
    return StudioServer(Studio(checkpoint, runs, detector), host, port, verbose)


def start_in_thread(server: StudioServer) -> threading.Thread:
    """Serve in a daemon thread (for tests and notebooks); stop with ``server.shutdown()``."""
    t = threading.Thread(target=server.serve_forever, name="gankit-studio", daemon=True)
    t.start()
    return t


def serve(checkpoint=None, runs=None, port: int = 7860, host: str = "127.0.0.1", detector=None,
          threads: int = 1, verbose: bool = False) -> None:
    """Run the studio until Ctrl-C (what ``gankit studio`` does).

    With neither ``checkpoint`` nor ``runs``, ``./runs`` is used when it exists (else only
    the 2D playground has something to show). ``threads``: PyTorch intra-op threads. The server answers many small requests at once,
    each in its own thread; one intra-op thread each keeps them from fighting over cores.
    """
    import torch

    if threads < 1:
        raise UserError(f"--threads must be >= 1, got {threads}")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be in 0..65535, got {port}")
    if checkpoint is None and runs is None and Path("runs").is_dir():
        runs = "runs"  # where `gankit train` puts runs by default
    torch.set_num_threads(threads)
    server = make_server(checkpoint, runs, port, host, detector, verbose)
    print(f"gankit studio: {server.url}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
