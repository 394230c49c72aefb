"""The studio under property-based fuzzing (issue 31): schemathesis draws requests from the app's
own OpenAPI schema, in both its modes (positive: bodies and queries the schema allows; negative:
ones it forbids), and sends them to a real server on 127.0.0.1 serving real tiny checkpoints.
Every answer must be below 500, every 4xx one line of JSON ``{"error": "..."}``, and no answer
may name the absolute folder the runs (and their ``--data``) live in.

Drawn requests name a real model or run half of the time, and uploads are real pictures half of
the time, so the generation, translation and playground code really runs (a random string would
only ever meet "unknown model"). Seeded (``derandomize``) and bounded: the default run takes
well under a minute; ``test_fuzz_longer`` (marked slow) draws ten times as many.
"""
from __future__ import annotations

import base64
import io
import json
import re
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit.cli import main
from gankit.studio import Studio, create_app, make_server, start_in_thread
from test_studio_support import extra_root, png, runs_root

schemathesis = pytest.importorskip("schemathesis")
requests = pytest.importorskip("requests")
pytestmark = pytest.mark.usefixtures("one_thread")

SCHEMA = schemathesis.openapi.from_dict(create_app(Studio()).openapi())
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}
# (operation, mode): a negative case needs something to break, a parameter or a body
CASES = [(label, mode) for label, op in sorted(OPERATIONS.items()) for mode in schemathesis.GenerationMode
         if mode.value == "positive" or list(op.iter_parameters()) or len(op.body)]
IDS = [f"{label}-{mode.value}" for label, mode in CASES]
MODELS = ["dcgan", "gan2d", "stylegan2", "pix2pix", "abs"]


def _pictures() -> list[bytes]:
    """Uploads: readable pictures in each accepted format and mode, and a few that are not."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (20, 16, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((20, 16, 1), 255, np.uint8)], -1)
    rgba[5:10, 5:10, 3] = 0
    out = [png(rgb), png(rgba), png(rgb[..., 0] % 3), png(rgb[..., 0].astype(np.uint16) * 257)]
    for fmt in ("JPEG", "GIF", "BMP", "WEBP", "TIFF"):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format=fmt)
        out.append(buf.getvalue())
    return out + [png(rgb)[:100], b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n", b""]


PICTURES = _pictures()


def _abs_run(base) -> None:
    """A run trained with an absolute ``--out`` on an absolute ``--data`` folder (issue 31)."""
    from PIL import Image

    data = base / "data-folder"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(data / f"{i}.png")
    args = ["train", "--data", str(data.resolve()), "--recipe", "dcgan", "--steps", "2",
            "--out", str((base / "runs" / "abs").resolve())]
    for kv in ("loop.progress=false", "loop.tensorboard=false", "G.kwargs.ngf=8", "D.kwargs.ndf=8",
               "data.batch_size=4", "data.resolution=16", "loop.threads=1", "loop.log_every=1"):
        args += ["--set", kv]
    assert main(args) == 0


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory):
    """An absolute folder with every kind of run the pages use (copies, not links: links out of
    the runs folder are refused) and the absolute-``--data`` run ``abs``."""
    base = tmp_path_factory.mktemp("fuzz").resolve()
    for src in (runs_root(tmp_path_factory), extra_root(tmp_path_factory)):
        for run in src.iterdir():
            shutil.copytree(run, base / "runs" / run.name)
    _abs_run(base)
    return base


@pytest.fixture(scope="module")
def server(fuzz_root):
    srv = make_server(runs=fuzz_root / "runs", workers=1)
    start_in_thread(srv)
    yield srv
    srv.shutdown()
    srv.server_close()


# --------------------------------------------------------------------------- the checks


def _png_texts(data: bytes) -> str:
    """Every text chunk of a PNG (tEXt, zTXt, iTXt), as one string."""
    from PIL import Image

    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception:  # noqa: BLE001 - not a PNG: nothing to read
        return ""
    return json.dumps(getattr(im, "text", {}))


def _shown(r) -> str:
    """Everything a response shows a client: its body, headers, and the text chunks of every
    PNG in it (as bytes, or as data URLs inside JSON)."""
    parts = [r.content.decode("utf-8", "replace"), json.dumps(dict(r.headers))]
    if r.content[:8] == b"\x89PNG\r\n\x1a\n":
        parts.append(_png_texts(r.content))
    for b64 in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", parts[0]):
        parts.append(_png_texts(base64.b64decode(b64)))
    return "\n".join(parts)


def check_answer(r, secrets=()) -> None:
    """No 5xx; a 4xx is exactly one line of JSON {"error": "<one line>"}; no secret shown."""
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        ctype = r.headers.get("content-type") or ""
        ctype = ctype[0] if isinstance(ctype, list) else ctype  # schemathesis: {name: [values]}
        assert ctype.startswith("application/json"), r.headers
        assert b"\n" not in r.content.strip(), r.content[:300]
        body = r.json()
        assert isinstance(body, dict) and list(body) == ["error"], body
        assert isinstance(body["error"], str) and body["error"] and "\n" not in body["error"]
    shown = _shown(r)
    for s in secrets:
        assert s not in shown, (s, r.request.url, shown[:300])


# --------------------------------------------------------------------------- no absolute path


def test_no_endpoint_shows_an_absolute_path(fuzz_root, server):
    """Runs under an absolute folder, one trained on an absolute --data: every endpoint's
    answer (bodies, headers, PNG text chunks) is free of that folder."""
    secrets = [str(fuzz_root), str(fuzz_root / "data-folder")]
    url = server.url.rstrip("/")
    s = requests.Session()
    s.headers["Origin"] = url
    info = s.get(url + "/api/info").json()
    s.headers["X-Gankit-Session"] = info["session"]
    assert {m["id"] for m in info["models"]} == set(MODELS)
    assert next(m for m in info["models"] if m["id"] == "abs")["data"] == "data-folder"
    answers = [s.get(url + "/api/info"), s.get(url + "/api/runs"), s.get(url + "/api/compare")]
    for name in MODELS + ["nope", "../abs"]:
        answers += [s.get(url + "/api/model", params={"model": name}), s.get(url + "/api/run", params={"name": name}),
                    s.get(url + "/api/run/sample", params={"name": name}),
                    s.get(url + "/api/compare", params={"names": name})]
        for path in ("/api/generate", "/api/interpolate", "/api/edit", "/api/stylemix"):
            answers.append(s.post(url + path, json={"model": name, "batch": 2}))
        answers.append(s.post(url + "/api/translate", params={"model": name},
                              files={"file": ("x.png", PICTURES[1], "image/png")}))
    answers += [s.post(url + "/api/detect", files={"file": ("x.png", PICTURES[0], "image/png")}),
                s.post(url + "/api/playground/new", json={}), s.post(url + "/api/playground/step", json={})]
    sample = s.get(url + "/api/run/sample", params={"name": "abs"})
    assert sample.status_code == 200 and '"gankit:run": "abs"' in _png_texts(sample.content)
    assert s.get(url + "/api/model", params={"model": "abs"}).json()["data"] == "data-folder"
    for r in answers:
        check_answer(r, secrets)
    assert sum(r.status_code == 200 for r in answers) >= 20  # most of them really ran


# --------------------------------------------------------------------------- the fuzzer


small = st.integers(0, 20)
# Values near or inside the bounds, by field name: the schema gives the shape, these make the
# work behind it run (a random batch is almost never in 1..64, a random model never exists).
PLAUSIBLE = {
    "model": st.sampled_from(MODELS), "name": st.sampled_from(MODELS), "names": st.sampled_from(MODELS + ["dcgan,abs"]),
    "seed": small, "a": small, "b": small, "batch": st.integers(0, 5), "class": st.integers(-1, 10),
    "truncation": st.floats(0, 2), "t": st.floats(-0.5, 1.5), "frames": st.integers(1, 13),
    "mode": st.sampled_from(["slerp", "lerp", "cubic"]), "crossover": st.integers(0, 9),
    "coarse": st.lists(small, max_size=7) | st.just("1, 2"), "fine": st.lists(small, max_size=3),
    "amounts": st.dictionaries(st.sampled_from(["smile", "x"]), st.floats(-6, 6), max_size=2),
    "steps": st.integers(0, 20), "dataset": st.sampled_from(["ring8", "moons", "mnist"]),
    "loss": st.sampled_from(["nonsaturating", "hinge", "wasserstein", "l2"]), "pack": st.integers(0, 5),
    "gp": st.floats(0, 20), "lr": st.floats(0, 0.2), "n": st.integers(0, 12), "text": st.text(max_size=20),
    "direction": st.sampled_from(["AtoB", "BtoA", "up"]), "domain": st.integers(-1, 11),
    "file": st.sampled_from(PICTURES),
}


def _steer(data, case) -> None:
    """Half of the time, give each field the drawn request has a value near its bounds (a
    model or run that exists, a picture that decodes, a batch of 0..5, ...)."""
    for params, as_text in ((case.body, False), (case.query, True)):
        if not isinstance(params, dict) or not data.draw(st.booleans()):
            continue
        for key in [k for k in params if k in PLAUSIBLE]:
            if data.draw(st.booleans()):
                v = data.draw(PLAUSIBLE[key])
                params[key] = str(v) if as_text and not isinstance(v, bytes) else v
    if isinstance(case.query, dict) and "model" not in case.query and data.draw(st.booleans()):
        case.query["model"] = data.draw(PLAUSIBLE["model"])


def _fuzz(server, label: str, mode, data) -> None:
    case = data.draw(OPERATIONS[label].as_strategy(mode))
    _steer(data, case)
    url = server.url.rstrip("/")
    headers = {"Origin": url}
    sid = data.draw(st.sampled_from(["", "issued", "made.up", "abc.\xe9"]) |
                    st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=70))
    if sid == "issued":
        sid = requests.get(url + "/api/info", headers=headers, timeout=30).json()["session"]
    if sid:
        headers["X-Gankit-Session"] = sid
    try:
        r = case.call(base_url=url, headers=headers, timeout=60)
    except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError, ValueError):
        return  # the client library refused to send it (a header with a newline, ...)
    check_answer(r, [str(server.studio.runs_root.resolve().parent)])
    STATUS.setdefault(label, []).append(r.status_code)


STATUS: dict[str, list[int]] = {}  # what the drawn requests got, by operation (for a report)


FUZZ = settings(max_examples=6, derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("label, mode", CASES, ids=IDS)
def test_fuzz_no_5xx_and_one_line_json_errors(server, label, mode):
    @FUZZ
    @given(st.data())
    def run(data):
        _fuzz(server, label, mode, data)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("label, mode", CASES, ids=IDS)
def test_fuzz_longer(server, label, mode):
    @settings(FUZZ, max_examples=60)
    @given(st.data())
    def run(data):
        _fuzz(server, label, mode, data)

    run()
