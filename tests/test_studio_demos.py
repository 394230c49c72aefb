"""The studio's demos (gankit.studio.demos, demo_routes): paint a scene and real or fake?

The scoring function against a count by hand, each endpoint through the app (good input, and
every bad input a clean 4xx with one line of JSON), and what the quiz must not leak."""
from __future__ import annotations

import base64
import io
import json

import pytest
import torch
from PIL import Image

from gankit.studio import Studio
from gankit.studio.demos import QuizStore, paint_spec, score, wilson
from studio_demos_support import demo_root, has_music21
from test_studio_support import client_for, decode_data_url

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return demo_root(tmp_path_factory)


@pytest.fixture(scope="module")
def studio(root):
    return Studio(runs=root)


@pytest.fixture(scope="module")
def client(studio):
    return client_for(studio)


def one_line_error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert "\n" not in r.text.strip()
    body = r.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    return body["error"]


# --------------------------------------------------------------------------- the scoring


def test_score_matches_a_hand_count():
    R, F = True, False  # truth: real / fake; answers: said "real" / said "fake"
    truth = [R, F, F, R, F, R, F, F]
    said = [R, R, F, F, R, R, F, R]
    # By hand: fakes are items 1, 2, 4, 6, 7; judged real: 1, 4, 7 -> 3 of 5 fooled.
    # Reals are 0, 3, 5; judged real: 0, 5 -> 2 of 3. Right: 0, 2, 5, 6 -> 4 of 8.
    s = score(truth, said)
    assert (s["n"], s["fakes"], s["reals"], s["fooled"], s["reals_judged_real"], s["correct"]) == (8, 5, 3, 3, 2, 4)
    assert s["fool_rate"] == 3 / 5 and s["real_accuracy"] == 2 / 3 and s["accuracy"] == 0.5
    assert s["hype_infinity"] == 0.5
    # Wilson 95 % for 3 of 5 is [0.2307, 0.8824] (Newcombe 1998, Table I's method 3)
    assert s["interval"]["method"] == "wilson" and s["interval"]["level"] == 0.95
    assert [round(v, 4) for v in s["interval"]["fool_rate"]] == [0.2307, 0.8824]


def test_wilson_at_the_edges():
    assert [round(v, 4) for v in wilson(0, 5)] == [0.0, 0.4345]
    assert [round(v, 4) for v in wilson(5, 5)] == [0.5655, 1.0]
    assert wilson(0, 0) is None
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi and abs((lo + hi) / 2 - 0.5) < 1e-12


def test_score_without_fakes_or_with_wrong_lengths():
    s = score([True, True], [True, False])
    assert s["fool_rate"] is None and s["interval"]["fool_rate"] is None and s["real_accuracy"] == 0.5
    with pytest.raises(ValueError):
        score([True], [True, False])


# --------------------------------------------------------------------------- paint


def test_demos_info_says_what_each_model_has(client):
    spade = client.get("/api/demos", params={"model": "spade"}).json()
    assert spade["paint"]["mode"] == "labels" and spade["quiz"] is None and "quiz" in spade["why"]
    assert [p["name"] for p in spade["paint"]["palette"]] == ["background", "circle", "square", "triangle"]
    assert spade["paint"]["grid"] == spade["paint"]["resolution"] == 16
    edges = client.get("/api/demos", params={"model": "edges"}).json()["paint"]
    assert edges["mode"] == "strokes" and [p["color"] for p in edges["palette"]] == ["#ffffff", "#000000"]
    dcgan = client.get("/api/demos", params={"model": "dcgan"}).json()
    assert dcgan["paint"] is None and "painting needs" in dcgan["why"]["paint"] and dcgan["quiz"]["default"] == 20
    one_line_error(client.get("/api/demos", params={"model": "nope"}), 400)


def test_palette_colours_are_the_models_own_label_pictures(studio):
    from gankit.recipes.translation import labels_picture

    spec, why = paint_spec(studio.models.get("spade"))
    assert why is None
    want = ((labels_picture(torch.arange(4).view(1, 1, 4))[0, :, 0] + 1) * 127.5).round().int()  # [3, K]
    for i, p in enumerate(spec["palette"]):
        assert p["color"] == "#" + "".join(f"{int(c):02x}" for c in want[:, i])


def _grid(side: int, fill: int = 0, box: tuple[int, int, int, int] | None = None, value: int = 1):
    g = [[fill] * side for _ in range(side)]
    if box:
        r0, r1, c0, c1 = box
        for r in range(r0, r1):
            for c in range(c0, c1):
                g[r][c] = value
    return g


def _pixels(url: str):
    return torch.tensor(list(decode_data_url(url).convert("RGB").getdata()))


@pytest.mark.parametrize("model", ["spade", "edges"])
def test_paint_follows_the_painting_and_is_deterministic(client, model):
    blank = client.post("/api/paint", json={"model": model, "labels": _grid(16), "seed": 3})
    assert blank.status_code == 200, blank.text
    painted = client.post("/api/paint", json={"model": model, "labels": _grid(16, box=(3, 11, 4, 12)), "seed": 3})
    again = client.post("/api/paint", json={"model": model, "labels": _grid(16, box=(3, 11, 4, 12)), "seed": 3})
    a, b = blank.json(), painted.json()
    assert not torch.equal(_pixels(a["output"]), _pixels(b["output"]))  # the output follows the strokes
    assert not torch.equal(_pixels(a["input"]), _pixels(b["input"]))
    assert b["output"] == again.json()["output"]  # same painting, same seed: same picture
    assert decode_data_url(b["output"]).text["synthetic"] == "true"
    assert b["filename"].endswith(".png") and b["seed"] == 3


def test_paint_input_picture_is_the_painted_label_map(client):
    r = client.post("/api/paint", json={"model": "spade", "labels": _grid(16, box=(0, 8, 0, 16), value=2)}).json()
    pic = decode_data_url(r["input"]).convert("RGB")
    w, h = pic.size
    assert pic.getpixel((w // 2, h // 4)) == (60, 180, 75)  # class 2 (square): the palette's green
    assert pic.getpixel((w // 2, 3 * h // 4)) == (32, 32, 40)  # background


@pytest.mark.parametrize("body, status, words", [
    ({"model": "spade", "labels": _grid(15)}, 400, "expected 16 rows"),
    ({"model": "spade", "labels": [[0] * 15] * 16}, 400, "row 0 must hold 16"),
    ({"model": "spade", "labels": _grid(16, fill=4)}, 400, "0..3, got 4"),
    ({"model": "spade", "labels": _grid(16, fill=-1)}, 400, "0..3, got -1"),
    ({"model": "edges", "labels": _grid(16, fill=2)}, 400, "0..1, got 2"),
    ({"model": "spade", "labels": [[True] * 16] * 16}, 422, "labels.0.0"),
    ({"model": "spade", "labels": [[0.5] * 16] * 16}, 422, "labels.0.0"),
    ({"model": "spade", "labels": [["1"] * 16] * 16}, 422, "labels.0.0"),
    ({"model": "spade", "labels": [[0] * 16] * 200}, 422, "labels"),
    ({"model": "spade", "labels": "0" * 256}, 422, "labels"),
    ({"model": "spade"}, 422, "labels: Field required"),
    ({"model": "spade", "labels": _grid(16), "seed": True}, 422, "seed"),
    ({"model": "spade", "labels": _grid(16), "seed": -1}, 400, "seed must be in"),
    ({"model": "spade", "labels": _grid(16), "extra": 1}, 422, "extra: Extra inputs"),
    ({"model": "dcgan", "labels": _grid(16)}, 400, "painting needs a spade"),
    ({"model": "nope", "labels": _grid(16)}, 400, "unknown model"),
])
def test_paint_refuses_bad_input_with_one_line(client, body, status, words):
    assert words in one_line_error(client.post("/api/paint", json=body), status)


def test_paint_refuses_bad_bodies(client):
    post = client.post
    one_line_error(post("/api/paint", content=b"{", headers={"Content-Type": "application/json"}), 400)
    one_line_error(post("/api/paint", content=b"[" * 200_000, headers={"Content-Type": "application/json"}), 413)
    one_line_error(post("/api/paint", content=b"labels=1", headers={"Content-Type": "text/plain"}), 415)
    one_line_error(post("/api/paint", json={"model": "spade", "labels": _grid(16)},
                        headers={"Origin": "http://evil.test"}), 403)  # the Guard covers the demo routes
    one_line_error(client.get("/api/paint"), 405)


def test_the_demo_routes_need_the_token_beyond_loopback(studio):
    from gankit.studio.security import Policy

    pol = Policy.for_host("0.0.0.0")
    c = client_for(studio, pol)
    for method, path, body in (("get", "/api/demos?model=spade", None), ("post", "/api/paint", {"labels": []}),
                               ("post", "/api/quiz/new", {}), ("post", "/api/quiz/score", {}),
                               ("post", "/api/listen", {}), ("get", "/api/listen/wav", None)):
        kw = {"json": body} if body is not None else {}
        assert "token" in one_line_error(getattr(c, method)(path, **kw), 403), path
    ok = c.get("/api/demos", params={"model": "spade"}, headers={"X-Gankit-Token": pol.token})
    assert ok.status_code == 200 and ok.json()["paint"]["mode"] == "labels"


# --------------------------------------------------------------------------- real or fake?


def _png_text(url: str) -> dict:
    im = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    im.load()
    return dict(im.info)


def test_quiz_end_to_end_against_a_hand_count(client):
    r = client.post("/api/quiz/new", json={"model": "dcgan", "n": 10})
    assert r.status_code == 200, r.text
    q = r.json()
    assert set(q) == {"quiz", "n", "items"} and q["n"] == 10 and len(q["items"]) == 10  # no truth in it
    sizes = {decode_data_url(u).size for u in q["items"]}
    assert len(sizes) == 1  # reals and fakes look alike: same size ...
    assert all(_png_text(u) == {} for u in q["items"])  # ... and no text chunk that tells
    truth = client.app.state.demos.quizzes.truth(q["quiz"])
    assert sum(truth) == 5  # half real
    answers = ["real", "fake", "real", "real", "fake", "fake", "real", "fake", "real", "real"]
    fooled = sum(1 for t, a in zip(truth, answers) if not t and a == "real")
    reals_ok = sum(1 for t, a in zip(truth, answers) if t and a == "real")
    s = client.post("/api/quiz/score", json={"quiz": q["quiz"], "answers": answers})
    assert s.status_code == 200, s.text
    res = s.json()
    assert res["fooled"] == fooled and res["fool_rate"] == fooled / 5
    assert res["reals_judged_real"] == reals_ok and res["real_accuracy"] == reals_ok / 5
    assert res["accuracy"] == (reals_ok + 5 - fooled) / 10
    assert [it["truth"] == "real" for it in res["items"]] == truth and [it["answer"] for it in res["items"]] == answers
    assert res["model"]["recipe"] == "dcgan" and res["model"]["data"] == "digits"
    text = json.dumps(res)
    assert "testclient" not in text and "session" not in text  # nothing about the visitor
    assert "error" in client.post("/api/quiz/score", json={"quiz": q["quiz"], "answers": answers}).json()


def test_quiz_shuffles_every_quiz_afresh(client):
    orders = {tuple(client.app.state.demos.quizzes.truth(client.post("/api/quiz/new", json={"model": "dcgan",
                                                                                            "n": 40}).json()["quiz"]))
              for _ in range(2)}
    assert len(orders) == 2  # 40 items: two shuffles agree with probability 1 / C(40, 20)


@pytest.mark.parametrize("path, body, status, words", [
    ("/api/quiz/new", {"model": "dcgan", "n": 5}, 400, "n must be even"),
    ("/api/quiz/new", {"model": "dcgan", "n": 42}, 400, "n must be in 4..40"),
    ("/api/quiz/new", {"model": "dcgan", "n": 2}, 400, "n must be in 4..40"),
    ("/api/quiz/new", {"model": "dcgan", "n": True}, 422, "n:"),
    ("/api/quiz/new", {"model": "dcgan", "n": "10"}, 422, "n:"),
    ("/api/quiz/new", {"model": "spade"}, 400, "quiz: the quiz shows images sampled from noise"),
    ("/api/quiz/new", {"model": "dcgan", "who": "me"}, 422, "who: Extra inputs"),
    ("/api/quiz/score", {"quiz": "no-such-quiz", "answers": ["real"] * 4}, 404, "unknown or expired quiz"),
    ("/api/quiz/score", {"quiz": "x" * 65, "answers": []}, 422, "quiz:"),
    ("/api/quiz/score", {"quiz": "q", "answers": ["maybe"]}, 422, "answers.0"),
    ("/api/quiz/score", {"quiz": "q", "answers": ["real"] * 41}, 422, "answers"),
    ("/api/quiz/score", {"answers": []}, 422, "quiz: Field required"),
])
def test_quiz_refuses_bad_input_with_one_line(client, path, body, status, words):
    assert words in one_line_error(client.post(path, json=body), status)


def test_quiz_answers_must_match_the_items(client):
    qid = client.post("/api/quiz/new", json={"model": "dcgan", "n": 4}).json()["quiz"]
    assert "expected 4 answers" in one_line_error(client.post("/api/quiz/score", json={"quiz": qid, "answers": ["real"]}), 400)
    assert client.post("/api/quiz/score", json={"quiz": qid, "answers": ["fake"] * 4}).status_code == 200


def test_the_quiz_store_is_bounded_without_evicting_open_quizzes():
    store = QuizStore(max_quizzes=2)
    a = store.add([True, False], {})
    store.add([True, False], {})
    from gankit.studio.sessions import SessionsFull

    with pytest.raises(SessionsFull):
        store.add([True, False], {})  # both open: the third waits (429), nobody's quiz is dropped
    store.score(a, ["real", "real"])
    c = store.add([False, True], {})  # a scored quiz makes room
    assert store.truth(c) == [False, True]
    expired = QuizStore(ttl=0.0)
    qid = expired.add([True], {})
    from gankit.studio.monitor import NotFound

    with pytest.raises(NotFound):
        expired.score(qid, ["real"])


# --------------------------------------------------------------------------- listen

needs_music = pytest.mark.skipif(not has_music21(), reason="the music extra (music21, mido) is not installed")


@needs_music
def test_listen_gives_a_roll_a_midi_file_and_a_wav(client):
    import wave

    import mido

    tracks = client.get("/api/demos", params={"model": "musegan"}).json()["listen"]["tracks"]
    assert tracks == ["Soprano", "Alto", "Tenor", "Bass"]
    r = client.post("/api/listen", json={"model": "musegan", "seed": 4})
    assert r.status_code == 200, r.text
    s = r.json()
    assert decode_data_url(s["roll"]).text["gankit:seed"] == "4"
    assert s["midi"].startswith("data:audio/midi;base64,")
    mid = mido.MidiFile(file=io.BytesIO(base64.b64decode(s["midi"].split(",", 1)[1])))
    assert [t.name for t in mid.tracks[1:]] == tracks
    notes = sum(1 for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0)
    assert notes == s["notes"] > 0
    w = client.get(s["wav"])
    assert w.status_code == 200 and w.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(w.content)) as fh:
        assert (fh.getnchannels(), fh.getsampwidth()) == (2, 2)
        seconds = fh.getnframes() / fh.getframerate()
        pcm = torch.frombuffer(bytearray(fh.readframes(fh.getnframes())), dtype=torch.int16)
    assert s["seconds"] <= seconds < s["seconds"] + 1  # the phrase plus the last release
    assert pcm.abs().max() > 1000  # not silent
    same = client.post("/api/listen", json={"model": "musegan", "seed": 4}).json()
    other = client.post("/api/listen", json={"model": "musegan", "seed": 5}).json()
    assert same["midi"] == s["midi"] and other["midi"] != s["midi"]  # a pure function of the seed


@pytest.mark.parametrize("method, path, kw, status, words", [
    ("post", "/api/listen", {"json": {"model": "dcgan"}}, 400, "Listen plays music checkpoints"),
    ("post", "/api/listen", {"json": {"model": "musegan", "seed": -1}}, 400, "seed must be in"),
    ("post", "/api/listen", {"json": {"model": "musegan", "seed": True}}, 422, "seed"),
    ("post", "/api/listen", {"json": {"model": "musegan", "n": 3}}, 422, "n: Extra inputs"),
    ("get", "/api/listen/wav", {"params": {"model": "musegan", "seed": "x"}}, 400, "seed: expected a whole"),
    ("get", "/api/listen/wav", {"params": {"model": "dcgan"}}, 400, "Listen plays music checkpoints"),
    ("get", "/api/listen/wav", {"params": {"model": "m" * 201}}, 422, "model"),
])
def test_listen_refuses_bad_input_with_one_line(client, method, path, kw, status, words):
    if "musegan" in json.dumps(kw) and not has_music21():
        pytest.skip("no musegan run without the music extra")
    assert words in one_line_error(getattr(client, method)(path, **kw), status)
