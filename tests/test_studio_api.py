"""``gankit.studio``: the API functions (fast, no browser), the web app through a test client,
input bounds, per-session state, and a small load test on a real server. The security probes
(Host, token, CSRF, timeouts, hostile bodies, symlinks, sessions) are in test_studio_security."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.errors import UserError
from gankit.studio import LIMITS, Studio, make_server, render, start_in_thread
from gankit.studio.api import LOCAL
from test_studio_support import (
    client_for,
    decode_data_url,
    extra_root,
    pixel_bomb,
    png,
    real_http,
    runs_root,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # what `gankit studio` runs with (--threads 1)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return runs_root(tmp_path_factory)


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    return extra_root(tmp_path_factory)


@pytest.fixture(scope="module")
def studio(root):
    return Studio(runs=root)


@pytest.fixture(scope="module")
def client(studio):
    return client_for(studio)


# --------------------------------------------------------------------------- models, generate


def test_info_lists_models_limits_and_a_session(studio):
    info = studio.info({})
    assert {m["id"] for m in info["models"]} == {"dcgan", "gan2d"}
    assert len(info["session"]) >= 16 and info["session"] != studio.info({})["session"]
    assert info["limits"]["batch"] == 64 and info["limits"]["steps"] == 500 and info["limits"]["text"] == 200
    assert set(info["playground"]["datasets"]) == {"ring8", "grid25", "spiral", "moons"}
    assert "nonsaturating" in info["playground"]["losses"] and info["playground"]["max_pack"] == 4
    assert not info["detector"]["available"] and "no detector" in info["detector"]["status"]


def test_no_model_is_a_message_not_a_crash():
    s = Studio()  # `gankit studio` with nothing to serve: the playground still works
    assert s.info({})["models"] == [] and s.info({})["default_model"] is None
    with pytest.raises(UserError, match="no model: start the studio with --checkpoint"):
        s.generate({})
    assert s.runs({})["runs"] == []


def test_capabilities_say_why_a_feature_is_missing(studio):
    cap = studio.model({"model": "dcgan"})
    assert cap["recipe"] == "dcgan" and cap["kind"] == "images" and cap["generate"]["truncation"]
    assert cap["explore"]["interpolate"] and cap["explore"]["directions"] is None
    assert cap["explore"]["style_mix"] is None and "style" in cap["why"]["style_mix"]
    assert cap["translate"] is None and "not an image-to-image" in cap["why"]["translate"]
    pts = studio.model({"model": "gan2d"})
    assert pts["generate"]["points"] and pts["explore"] is None and "2D" in pts["why"]["explore"]
    with pytest.raises(UserError, match="unknown model"):
        studio.model({"model": "../../etc"})


def test_generate_png_carries_provenance_and_is_seeded(studio):
    r = studio.generate({"model": "dcgan", "seed": 7, "batch": 4})
    im = decode_data_url(r["image"])
    assert im.text["gankit:recipe"] == "dcgan" and im.text["gankit:seed"] == "7"
    assert "checkpoints" in im.text["gankit:checkpoint"] and im.text["synthetic"] == "true"
    assert r["n"] == 4 and r["filename"].endswith(".png")
    assert studio.generate({"model": "dcgan", "seed": 7, "batch": 4})["image"] == r["image"]
    assert studio.generate({"model": "dcgan", "seed": 8, "batch": 4})["image"] != r["image"]
    assert studio.generate({"model": "dcgan", "seed": 7, "batch": 4, "truncation": 0.5})["image"] != r["image"]


@pytest.mark.parametrize("params, message", [
    ({"batch": 0}, "batch must be in 1..64"), ({"batch": 65}, "batch must be in 1..64"),
    ({"batch": "many"}, "whole number"), ({"seed": -1}, "seed must be"), ({"seed": 1.5}, "whole number"),
    ({"truncation": 0}, "truncation must be in"), ({"truncation": "nan"}, "truncation must be in"),
    ({"class": 1}, "not class-conditional"), ({"text": "x" * 201}, "at most 200"),
])
def test_generate_bounds_every_input(studio, params, message):
    with pytest.raises(UserError, match=message):
        studio.generate({"model": "dcgan", **params})


def test_generate_points_model_gives_points_and_a_scatter(studio):
    r = studio.generate({"model": "gan2d", "seed": 1, "batch": 16})
    assert len(r["points"]) == 32 and decode_data_url(r["image"]).text["synthetic"] == "true"


# --------------------------------------------------------------------------- explore


def test_interpolation_ends_are_the_seeds_images(studio):
    lm = studio.models.get("dcgan")
    one, strip = render.interpolate(lm, 3, 9, 0.5, "slerp", frames=5)
    assert one.shape[0] == 1 and strip.shape[0] == 5
    with torch.no_grad():
        a, b = lm.model.sample(1, seed=3), lm.model.sample(1, seed=9)
    assert torch.allclose(strip[0], a[0], atol=1e-5) and torch.allclose(strip[-1], b[0], atol=1e-5)
    r = studio.interpolate({"model": "dcgan", "a": 3, "b": 9, "t": 0.25, "mode": "lerp"})
    assert decode_data_url(r["image"]).size[0] > 0 and decode_data_url(r["strip"]).size[0] > 0
    with pytest.raises(UserError, match="t must be in"):
        studio.interpolate({"model": "dcgan", "t": 1.5})
    with pytest.raises(UserError, match="mode must be one of"):
        studio.interpolate({"model": "dcgan", "mode": "cubic"})
    with pytest.raises(UserError, match="2D models"):
        studio.interpolate({"model": "gan2d"})


def test_latent_directions_from_a_file(root, tmp_path):
    from safetensors.torch import save_file

    from gankit.checkpoint import find_checkpoint

    ckpt = find_checkpoint(root / "dcgan")
    z_dim = Studio(runs=root).models.get("dcgan").G.z_dim
    f = ckpt / "directions.safetensors"
    save_file({"smile": torch.randn(z_dim), "wrong_size": torch.randn(3)}, str(f))
    try:
        s = Studio(runs=root)  # a fresh studio: directions are looked up once per loaded model
        assert s.model({"model": "dcgan"})["explore"]["directions"] == ["smile"]
        base = s.edit({"model": "dcgan", "seed": 2, "amounts": {"smile": 0}})["image"]
        moved = s.edit({"model": "dcgan", "seed": 2, "amounts": {"smile": 2.5}})["image"]
        assert base != moved
        with pytest.raises(UserError, match="unknown direction"):
            s.edit({"model": "dcgan", "amounts": {"frown": 1}})
        with pytest.raises(UserError, match="must be in"):
            s.edit({"model": "dcgan", "amounts": {"smile": 50}})
    finally:
        f.unlink()


def test_style_mixing_only_for_style_based_models(studio, extra):
    with pytest.raises(UserError, match="style-based"):
        studio.stylemix({"model": "dcgan"})
    s = Studio(runs=extra)
    cap = s.model({"model": "stylegan2"})
    assert cap["explore"]["style"] and cap["explore"]["style_mix"]["num_ws"] >= 2
    r = s.stylemix({"model": "stylegan2", "coarse": "1,2", "fine": [3, 4, 5], "crossover": 2})
    im = decode_data_url(r["image"])
    assert im.text["synthetic"] == "true" and im.width > im.height  # 3 x 4 grid incl. the plain images
    with pytest.raises(UserError, match="crossover must be in"):
        s.stylemix({"model": "stylegan2", "crossover": 99})
    with pytest.raises(UserError, match="give 1..6 seeds"):
        s.stylemix({"model": "stylegan2", "coarse": ",".join(map(str, range(7)))})
    assert s.interpolate({"model": "stylegan2", "a": 0, "b": 1, "t": 0.5, "truncation": 0.7})["image"]


def test_w_space_directions_json_move_a_style_based_image(extra):
    from gankit.checkpoint import find_checkpoint

    s = Studio(runs=extra)
    G = s.models.get("stylegan2").G
    f = find_checkpoint(extra / "stylegan2").parent.parent / "directions.json"  # in the run directory
    g = torch.Generator().manual_seed(0)
    f.write_text(json.dumps({"space": "w", "directions": {"up": torch.randn(G.w_dim, generator=g).tolist(),
                                                          "bad": [1.0, 2.0]}}))
    try:
        s = Studio(runs=extra)
        cap = s.model({"model": "stylegan2"})["explore"]
        assert cap["directions"] == ["up"] and cap["directions_space"] == "w"
        lm = s.models.get("stylegan2")
        base, moved = render.edit(lm, 4, {"up": 0.0}), render.edit(lm, 4, {"up": 3.0})
        with torch.no_grad():  # amount 0 (in w) is the seed's own image (its z's first interpolation frame)
            assert torch.allclose(base, render.interpolate(lm, 4, 5, 0.0, "lerp", frames=2)[0], atol=1e-5)
        assert (base - moved).abs().max() > 1e-3
    finally:
        f.unlink()


# --------------------------------------------------------------------------- translate, detect, uploads


def test_translate_inpainting_upload(studio, extra):
    with pytest.raises(UserError, match="not an image-to-image"):
        studio.translate({"model": "dcgan"}, png(np.zeros((8, 8, 3), np.uint8)))
    s = Studio(runs=extra)
    cap = s.model({"model": "pix2pix"})
    assert cap["translate"]["input"] == "masked" and cap["generate"] is None
    rgba = np.full((40, 30, 4), 200, np.uint8)
    rgba[10:20, 10:20, 3] = 0  # the hole
    r = s.translate({"model": "pix2pix"}, png(rgba))
    assert decode_data_url(r["output"]).text["synthetic"] == "true" and decode_data_url(r["input"]).width > 0
    with pytest.raises(UserError, match="direction must be one of"):
        s.translate({"model": "pix2pix", "direction": "BtoA"}, png(rgba))


@pytest.mark.parametrize("data, message", [
    (b"", "empty"), (b"not an image at all", "not an image file"),
    (pixel_bomb(5000, 5000), "5000x5000 = 25,000,000 pixels is more than the limit"),
    (pixel_bomb(40_000, 40_000), "more pixels than the limit"),
    (png(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))[:6000], "damaged"),
    (b"\0" * (LIMITS["upload_bytes"] + 1), "bytes is more than the limit"),
], ids=["empty", "text", "too-many-pixels", "pillow-bomb", "truncated", "too-many-bytes"])
def test_bad_uploads_are_one_line_errors(studio, data, message):
    with pytest.raises(UserError, match=message):
        studio.detect({}, data)


def test_detect_without_and_with_a_detector(studio, tmp_path):
    with pytest.raises(UserError, match="no detector loaded"):
        studio.detect({}, png(np.zeros((8, 8), np.uint8)))
    det = pytest.importorskip("gankit.detect.detector")
    if not hasattr(det, "save_detector"):
        pytest.skip("gankit.detect has no save_detector yet")
    torch.manual_seed(0)
    det.save_detector(det.Detector(det.DetectorNet(1, 4), 16, 1), tmp_path / "det")
    s = Studio(detector=tmp_path / "det")
    assert s.info({})["detector"]["available"]
    r = s.detect({}, png(np.random.default_rng(0).integers(0, 255, (24, 20, 3), dtype=np.uint8)))
    assert 0.0 <= r["generated"] <= 1.0 and r["verdict"] in ("real", "generated") and r["size"] == [20, 24]


# --------------------------------------------------------------------------- monitor


def test_monitor_lists_runs_curves_and_follows_new_rows(studio, root):
    runs = {r["name"]: r for r in studio.runs({})["runs"]}
    assert runs["dcgan"]["recipe"] == "dcgan" and runs["dcgan"]["step"] == 2 and runs["dcgan"]["has_sample"]
    d = studio.run({"name": "dcgan"})
    assert [p[0] for p in d["series"]["loss/D"]] == [1, 2] and "loss/D" in d["groups"]["loss"]
    assert studio.run_sample({"name": "dcgan"})[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = root / "dcgan" / "metrics.jsonl"
    before = metrics.read_text()
    try:  # a training process appends a row, then a half-written one
        with open(metrics, "a") as fh:
            fh.write(json.dumps({"step": 3, "loss/D": 0.5, "metrics/fid": 12.5}) + "\n" + '{"step": 4, "loss/')
        d = studio.run({"name": "dcgan"})
        assert d["series"]["loss/D"][-1] == [3, 0.5] and d["last"]["metrics/fid"] == 12.5
        table = studio.compare({})
        row = next(r for r in table["runs"] if r["name"] == "dcgan")
        assert row["last"]["metrics/fid"] == 12.5 and table["keys"][0].startswith("loss/")
    finally:
        metrics.write_text(before)
    for bad in ("../dcgan", "/etc", "nope"):
        with pytest.raises(UserError, match="unknown run"):
            studio.run({"name": bad})


# --------------------------------------------------------------------------- playground, sessions


def test_playground_per_session_and_bounded(studio):
    a, b = studio.sessions.issue(LOCAL), studio.sessions.issue(LOCAL)
    s0 = studio.playground_new({"dataset": "moons", "loss": "hinge", "pack": 3}, a)
    assert s0["step"] == 0 and len(s0["real"]) == len(s0["fake"]) and s0["heat"]["n"] ** 2 == len(s0["heat"]["values"])
    studio.playground_new({"dataset": "ring8", "loss": "wasserstein", "gp": 10}, b)
    s1 = studio.playground_step({"steps": 5}, a)
    assert s1["step"] == 5 and s1["fake"] != s0["fake"] and s1["history"]["step"][-1] == 5
    assert studio.playground_step({"steps": 2}, b)["step"] == 2  # b's own playground
    assert studio.playground_step({"steps": 1}, a)["step"] == 6
    assert set(s1["metrics"]) >= {"modes", "modes_total", "high_quality"}
    for params, message in [({"steps": 0}, "steps must be in 1..500"), ({"steps": 501}, "steps must be in 1..500")]:
        with pytest.raises(UserError, match=message):
            studio.playground_step(params, a)
    for params, message in [({"pack": 5}, "pack must be in 1..4"), ({"dataset": "mnist"}, "dataset must be one of"),
                            ({"loss": "l2"}, "loss must be one of"), ({"lr": 0}, "lr must be in")]:
        with pytest.raises(UserError, match=message):
            studio.playground_new(params, a)
    with pytest.raises(UserError, match="press Reset"):
        studio.playground_step({}, studio.sessions.issue(LOCAL))
    for bad in ("bad id!", "A" * 22, a[:-1] + ("0" if a[-1] != "0" else "1")):  # never one the client made up
        with pytest.raises(UserError, match="session"):
            studio.playground_step({}, bad)
    with pytest.raises(UserError, match="session"):
        studio.playground_step({}, a, client="10.0.0.9")  # another client cannot use a's id


# --------------------------------------------------------------------------- HTTP


def test_http_pages_errors_and_limits(client):
    r = client.get("/")
    assert r.status_code == 200 and b"gankit" in r.content and b"/static/app.js" in r.content
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200 and client.get("/static/style.css").status_code == 200
    assert client.get("/static/..%2Fapi.py").status_code == 404
    r = client.get("/api/nope")
    assert r.status_code == 404 and "error" in r.json()
    r = client.post("/api/generate", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = client.post("/api/generate", json={"model": "dcgan", "batch": 1000})
    assert r.status_code == 400 and r.json() == {"error": "batch must be in 1..64, got 1000"}
    r = client.post("/api/generate", json={"model": "dcgan", "batch": [4]})
    assert r.status_code == 422 and r.json() == {"error": "batch: Input should be a valid integer"}
    r = client.post("/api/generate", json={"model": "dcgan", "bacth": 4})
    assert r.status_code == 422 and r.json()["error"].startswith("bacth: Extra inputs")
    r = client.post("/api/generate", content=b"{" + b" " * 70_000 + b"}", headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "error" in r.json()
    r = client.post("/api/detect", files={"file": ("big.png", b"\0" * (LIMITS["upload_bytes"] + 10), "image/png")})
    assert r.status_code == 413 and "more than the limit" in r.json()["error"]
    r = client.post("/api/detect", files={"file": ("bomb.png", pixel_bomb(), "image/png")})
    assert r.status_code == 400 and "pixels" in r.json()["error"]
    r = client.post("/api/detect")
    assert r.status_code == 415  # no body type at all
    r = client.get("/api/run/sample", params={"name": "dcgan"})
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert client.options("/api/generate").status_code == 405


def test_http_reveals_no_absolute_path(client, root):
    secret = str(root.resolve())
    for r in (client.get("/api/info"), client.get("/api/model", params={"model": "dcgan"}), client.get("/api/runs"),
              client.get("/api/run", params={"name": "dcgan"}), client.post("/api/generate", json={"model": "dcgan"})):
        assert r.status_code == 200 and secret not in r.text
    info = client.get("/api/info").json()
    assert info["runs_root"] == root.resolve().name
    assert client.get("/api/model", params={"model": "dcgan"}).json()["path"].startswith("dcgan/checkpoints/")
    im = decode_data_url(client.post("/api/generate", json={"model": "dcgan", "batch": 1}).json()["image"])
    assert im.text["gankit:checkpoint"].startswith("dcgan/checkpoints/")


def test_http_internal_error_is_json_without_traceback(client, monkeypatch, capsys):
    def boom(p):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app.state.studio, "runs", boom)
    r = client.get("/api/runs")
    assert r.status_code == 500 and r.json() == {"error": "internal error (RuntimeError); see the studio's log"}
    assert "secret internals" in capsys.readouterr().err  # the log has it, the page does not


def test_http_playground_session_header(client):
    sid = client.get("/api/info").json()["session"]
    r = client.post("/api/playground/new", json={"dataset": "spiral"}, headers={"X-Gankit-Session": sid})
    assert r.status_code == 200 and r.json()["step"] == 0
    r = client.post("/api/playground/step", json={"steps": 3}, headers={"X-Gankit-Session": sid})
    assert r.status_code == 200 and r.json()["step"] == 3
    r = client.post("/api/playground/step", json={"steps": 3})
    assert r.status_code == 400 and "session" in r.json()["error"]


def test_load_twenty_concurrent_generate_requests(root):
    srv = make_server(runs=root)
    start_in_thread(srv)
    results: list = [None] * 20
    try:
        def one(i):
            try:
                results[i] = real_http(srv, "/api/generate", {"model": "dcgan", "seed": i, "batch": 4})
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                results[i] = (repr(e), None)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        srv.shutdown()
        srv.server_close()
    assert all(r is not None and r[0] == 200 for r in results), [r and r[0] for r in results]
    images = [r[1]["image"] for r in results]
    assert len(set(images)) == 20  # each request got its own seed's samples
    assert decode_data_url(images[5]).text["gankit:seed"] == "5"


# --------------------------------------------------------------------------- CLI


def test_cli_user_errors_exit_2(tmp_path, capsys, root):
    assert main(["studio", "--checkpoint", str(tmp_path / "none")]) == 2
    assert main(["studio", "--runs", str(tmp_path / "none")]) == 2
    assert main(["studio", "--runs", str(root), "--threads", "0"]) == 2
    assert main(["studio", "--runs", str(root), "--port", "70000"]) == 2
    assert main(["studio", "--runs", str(root), "--token", "short"]) == 2
    srv = make_server(runs=root)  # a port in use
    try:
        assert main(["studio", "--runs", str(root), "--port", str(srv.server_address[1])]) == 2
    finally:
        srv.server_close()
    errs = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(errs) == 6 and all(line.startswith("gankit: error: ") for line in errs), errs


@pytest.mark.slow
def test_translate_every_kind_of_translation_model(tmp_path):
    """CycleGAN both ways, StarGAN domains, SRGAN, SPADE label maps (0-step checkpoints)."""
    from test_studio_support import FAST, ONE_THREAD, _train

    small = ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.resolution=16", "data.batch_size=4"]
    _train(tmp_path, "cyclegan", recipe="cyclegan", data="scenes-flat2shaded", steps=0,
           overrides=FAST + ONE_THREAD + small + ["G.kwargs.n_blocks=1", "data.kwargs.n=32"])
    _train(tmp_path, "stargan", recipe="stargan", data="digits", steps=0,
           overrides=FAST + ONE_THREAD + small + ["G.kwargs.n_blocks=1"])
    _train(tmp_path, "srgan", recipe="srgan", data="lowres2highres", steps=0,
           overrides=FAST + ONE_THREAD + small + ["G.kwargs.n_blocks=1", "data.kwargs.n=32"])
    _train(tmp_path, "spade", recipe="spade", data="scenes", steps=0,
           overrides=FAST + ONE_THREAD + small + ["G.kwargs.hidden=8", "data.kwargs.n=32"])
    s = Studio(runs=tmp_path)
    photo = png(np.random.default_rng(0).integers(0, 255, (20, 24, 3), dtype=np.uint8))
    cyc = s.model({"model": "cyclegan"})["translate"]
    assert cyc["directions"] == ["AtoB", "BtoA"]
    for d in cyc["directions"]:
        assert s.translate({"model": "cyclegan", "direction": d}, photo)["output"]
    star = s.model({"model": "stargan"})["translate"]
    assert len(star["domains"]) == 10
    outs = {s.translate({"model": "stargan", "domain": k}, photo)["output"] for k in (0, 3)}
    assert len(outs) == 2
    with pytest.raises(UserError, match="domain must be in"):
        s.translate({"model": "stargan", "domain": 10}, photo)
    sr = s.translate({"model": "srgan"}, photo)  # any size in, 4x out (20 x 24 -> 80 x 96)
    o, i = decode_data_url(sr["output"]), decode_data_url(sr["input"])  # scaled alike for viewing
    assert o.size == i.size and o.width * 80 == o.height * 96 and o.width % 96 == 0
    big = png(np.zeros((300, 20, 3), np.uint8))
    with pytest.raises(UserError, match="at most 256 pixels"):
        s.translate({"model": "srgan"}, big)
    spade = s.model({"model": "spade"})["translate"]
    assert spade["input"] == "labels" and spade["num_labels"] > 1
    labels = np.zeros((16, 16), np.uint8)
    labels[4:12, 4:12] = 1
    assert s.translate({"model": "spade"}, png(labels))["output"]
    with pytest.raises(UserError, match="label"):
        s.translate({"model": "spade"}, photo)


# --------------------------------------------------------------------------- issue 31: types and formats


@pytest.mark.parametrize("path, body, field", [
    ("/api/generate", {"batch": True}, "batch"), ("/api/generate", {"seed": True}, "seed"),
    ("/api/generate", {"truncation": False}, "truncation"), ("/api/interpolate", {"t": False}, "t"),
    ("/api/edit", {"amounts": {"smile": True}}, "amounts.smile"), ("/api/stylemix", {"fine": [True]}, "fine.0"),
    ("/api/playground/step", {"steps": True}, "steps"),
])
def test_booleans_are_not_numbers(client, path, body, field):
    r = client.post(path, json={**body})
    assert r.status_code == 422 and r.json()["error"].startswith(f"{field}: expected a number, got "), r.text


def test_booleans_are_not_numbers_in_the_api_either(studio):
    for params in ({"batch": True}, {"seed": False}, {"truncation": True}):
        with pytest.raises(UserError, match="expected a number, got"):
            studio.generate({"model": "dcgan", **params})


def _eps() -> bytes:
    return (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"
            b"newpath 0 0 moveto 8 8 lineto stroke\nshowpage\n%%EOF\n")


def _saved(arr, fmt: str) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def test_only_the_named_upload_formats_are_decoded(studio, extra, client, monkeypatch):
    from PIL import EpsImagePlugin

    def no_ghostscript(*a, **k):
        raise AssertionError("an upload reached Ghostscript")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    rgb = np.random.default_rng(0).integers(0, 255, (12, 10, 3), dtype=np.uint8)
    wide = (np.arange(120).reshape(12, 10) * 500).astype(np.uint16)
    refused = {"tiff": _saved(rgb, "TIFF"), "ico": _saved(rgb, "ICO"), "ppm": _saved(rgb, "PPM"),
               "pgm16": _saved(wide, "PPM"), "tiff32": _saved(wide.astype(np.int32) * 1000, "TIFF"),
               "eps": _eps()}
    msg = "upload: not an image file this server can read (use PNG, JPEG, GIF, BMP or WebP)"
    for name, data in refused.items():
        with pytest.raises(UserError, match=r"use PNG, JPEG, GIF, BMP or WebP"):
            studio.detect({}, data)
        r = client.post("/api/detect", files={"file": (f"x.{name}", data, "image/png")})
        assert r.status_code == 400 and r.json() == {"error": msg}, name
    p2p = client_for(Studio(runs=extra))
    for name in ("pgm16", "tiff32", "eps"):  # the issue's 500s and Ghostscript: a clean 400
        r = p2p.post("/api/translate", params={"model": "pix2pix"}, files={"file": ("x", refused[name], "image/png")})
        assert r.status_code == 400 and r.json() == {"error": msg}, name
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):  # what the message names is read
        r = p2p.post("/api/translate", params={"model": "pix2pix"}, files={"file": ("x", _saved(rgb, fmt), "image/png")})
        assert r.status_code == 200, (fmt, r.text[:200])
    r = p2p.post("/api/translate", params={"model": "pix2pix"}, files={"file": ("x", _saved(wide, "PNG"), "image/png")})
    assert r.status_code == 200  # 16-bit PNG (mode I;16)


def test_32_bit_and_float_pictures_become_modes_png_can_store(tmp_path):
    from PIL import Image

    from gankit.studio import images

    ids = Image.fromarray((np.arange(64).reshape(8, 8) * 900).astype(np.int32))  # mode I, fits 16 bits
    assert ids.mode == "I" and images.png_mode(ids).mode == "I;16"
    assert np.array_equal(np.asarray(images.png_mode(ids)), np.asarray(ids))  # label ids stay exact
    for im in (Image.fromarray(np.full((8, 8), -7, np.int32)), Image.fromarray(np.linspace(0, 1, 64).reshape(8, 8).astype(np.float32))):
        out = images.png_mode(im)
        assert out.mode == "L"
        out.save(tmp_path / "x.png")  # no "cannot write mode I as PNG"
