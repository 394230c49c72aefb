"""Shared by the studio tests: tiny runs trained once per test session, and PNG helpers.

(Not a test module itself; it is named ``test_studio_*`` to sit beside the studio tests.)
Every run is made once per pytest session, memoised here, so the API tests and the browser
tests share them.
"""
from __future__ import annotations

import base64
import io
import struct
import zlib

import torch

FAST = ["loop.progress=false", "loop.tensorboard=false"]
SMALL_DCGAN = ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=8", "data.resolution=16"]
ONE_THREAD = ["loop.threads=1", "loop.log_every=1"]
_MEMO: dict = {}


def _train(root, name: str, **kw):
    from gankit.presets import build_config
    from gankit.train import train

    n = torch.get_num_threads()
    try:
        train(build_config(**kw), root / name)
    finally:
        torch.set_num_threads(n)  # loop.threads sets the process-wide count
    return root / name


def runs_root(tmp_path_factory):
    """A folder of runs: ``dcgan`` (2 steps on digits, metrics + samples), ``gan2d`` (ring8)."""
    if "root" not in _MEMO:
        root = tmp_path_factory.mktemp("studio-runs")
        _train(root, "dcgan", recipe="dcgan", steps=2, overrides=FAST + SMALL_DCGAN + ONE_THREAD)
        _train(root, "gan2d", recipe="gan", data="ring8", steps=0,
               overrides=FAST + ONE_THREAD + ["G.kwargs.hidden=16", "D.kwargs.hidden=16", "loop.n_samples=64"])
        _MEMO["root"] = root
    return _MEMO["root"]


def extra_root(tmp_path_factory):
    """Runs for the pages that need other model kinds: ``stylegan2`` (style mixing) and
    ``pix2pix`` (inpainting, Translate); 0 steps: a checkpoint of the initial weights."""
    if "extra" not in _MEMO:
        root = tmp_path_factory.mktemp("studio-extra")
        _train(root, "stylegan2", recipe="stylegan2", data="digits", steps=0, overrides=FAST + ONE_THREAD + [
            "data.resolution=8", "G.kwargs.channel_base=64", "G.kwargs.channel_max=16", "D.kwargs.channel_base=64",
            "D.kwargs.channel_max=16", "G.kwargs.z_dim=8", "G.kwargs.w_dim=8", "G.kwargs.mapping_layers=1",
            "data.batch_size=4"])
        _train(root, "pix2pix", recipe="pix2pix", data="masked2photo", steps=0, overrides=FAST + ONE_THREAD + [
            "G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.resolution=16", "data.kwargs.n=32", "data.batch_size=4"])
        _MEMO["extra"] = root
    return _MEMO["extra"]


ORIGIN = "http://127.0.0.1:7860"


def client_for(studio, policy=None, origin: str | None = ORIGIN, peer=("testclient", 50000), **kw):
    """A test client of the studio's app that talks like the page: Host 127.0.0.1:7860 and,
    unless ``origin=None``, that same Origin on every request; ``peer`` is its address."""
    from fastapi.testclient import TestClient

    from gankit.studio import create_app

    headers = {"Origin": origin} if origin else {}
    return TestClient(create_app(studio, policy, **kw), base_url=ORIGIN, headers=headers,
                      raise_server_exceptions=False, client=peer, follow_redirects=False)


def real_http(srv, path: str, body=None, headers=None, method: str | None = None, timeout: float = 60):
    """(status, parsed JSON or bytes) of one request to a studio served on a real socket, sent
    the way the page sends it (same-origin Origin, JSON body)."""
    import httpx

    url = srv.url.rstrip("/") + path
    h = {"Origin": srv.url.rstrip("/"), **(headers or {})}
    r = httpx.request(method or ("GET" if body is None else "POST"), url, json=body, headers=h, timeout=timeout)
    return r.status_code, (r.json() if "json" in r.headers.get("content-type", "") else r.content)


def decode_data_url(url: str):
    """A ``data:image/png;base64,...`` URL as a PIL image."""
    from PIL import Image

    assert url.startswith("data:image/png;base64,"), url[:40]
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def png(arr) -> bytes:
    """uint8 array [H, W] or [H, W, C] as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def pixel_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
