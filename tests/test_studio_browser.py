"""``gankit studio`` end to end: the page in headless Chromium, driven with Playwright.

The browser is Debian's ``/usr/bin/chromium`` (``make test`` installs it with apt-get when it
can); Playwright's own browser download is never used. The server runs in-process on an
ephemeral port. Each test saves a screenshot in its temp dir.

Screenshots for the README: ``GANKIT_SCREENSHOTS=docs/img pytest tests/test_studio_browser.py
-k docs`` writes ``docs/img/studio-<page>.png``, one per page; ``GANKIT_SCREENSHOT_RUNS=DIR``
adds the runs under DIR (e.g. longer-trained ones) to the tiny runs the tests make, and
``GANKIT_SCREENSHOT_DETECTOR=DIR`` a detector (``gankit detect train``) for the Detect page.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gankit.studio import LIMITS, make_server, start_in_thread
from test_studio_support import extra_root, pixel_bomb, png, runs_root

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _why_skip() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (install Debian's chromium: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no browser download needed)"
    return None


pytestmark = [pytest.mark.skipif(_why_skip() is not None, reason=str(_why_skip())),
              pytest.mark.usefixtures("one_thread")]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return runs_root(tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _serve(runs, detector=None):
    srv = make_server(runs=runs, detector=detector)
    start_in_thread(srv)
    return srv


@pytest.fixture(scope="module")
def server(root):
    srv = _serve(root)
    yield srv
    srv.shutdown()
    srv.server_close()


def _open(browser, url, width=1360, height=900):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    page.set_default_timeout(90_000)  # headroom for a loaded 2-core machine
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("#model option", state="attached")
    page.wait_for_selector("body[data-ready]", state="attached")  # start-up done: no late page switch
    return ctx, page, errors


@pytest.fixture
def page(browser, server):
    ctx, page, errors = _open(browser, server.url)
    yield page
    ctx.close()
    assert not errors, errors  # no JavaScript exceptions on any page


def _tab(page, name: str) -> None:
    page.click(f".tabs button[data-page={name}]")
    page.wait_for_selector(f"#page-{name}.active")


def _painted(page, selector: str) -> int:
    """How many pixels of a canvas are not transparent (0 = nothing drawn)."""
    return page.evaluate("""(sel) => { const c = document.querySelector(sel);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""", selector)


def test_generate_click_produces_an_image(page, tmp_path):
    page.select_option("#model", "dcgan")
    page.fill("#gen-seed", "5")
    page.fill("#gen-batch", "9")
    page.click("#gen-go")
    page.wait_for_selector("#gen-figure:not([hidden])")
    page.wait_for_function("() => document.querySelector('#gen-img').naturalWidth > 0")
    assert page.get_attribute("#gen-download", "href").startswith("data:image/png;base64,")
    assert "9 samples · seed 5" in page.inner_text("#gen-caption")
    page.fill("#gen-batch", "65")  # out of bounds: the server's message is shown, not a failure
    page.click("#gen-go")
    page.wait_for_selector("#gen-form .error:not([hidden])")
    assert "batch must be in 1..64" in page.inner_text("#gen-form .error")
    page.screenshot(path=tmp_path / "generate.png", full_page=True)


def test_generate_clicked_while_the_model_loads_waits_for_it(page):
    """A click on Generate right after picking a model (its capabilities still on the way) makes
    the picture once they arrive: it is not dropped (CI's chromium clicked in that gap)."""
    def slow(route):
        time.sleep(1.5)
        route.continue_()

    page.select_option("#model", "gan2d")  # away from the default first: a re-pick of it loads nothing
    page.wait_for_function("() => document.querySelector('#model-info').textContent.startsWith('gan ')")
    page.route("**/api/model?*", slow)
    page.select_option("#model", "dcgan")
    page.click("#gen-go")  # before /api/model has answered
    page.wait_for_function("() => document.querySelector('#gen-img').naturalWidth > 0", timeout=30_000)
    assert "seed" in page.inner_text("#gen-caption")


def test_monitor_shows_curves_and_follows_the_run(page, root, tmp_path):
    _tab(page, "monitor")
    page.click("#mon-runs li[data-name=dcgan]")
    page.wait_for_selector('#mon-charts .chart[data-group="loss"] canvas')
    page.wait_for_function("() => document.querySelector('#mon-sample').naturalWidth > 0")
    assert _painted(page, '#mon-charts .chart[data-group="loss"] canvas') > 200
    page.wait_for_function("() => document.querySelector('#mon-compare').innerText.includes('dcgan')")
    metrics = root / "dcgan" / "metrics.jsonl"
    before = metrics.read_text()
    try:  # `gankit train` in another process logs a new row: the page picks it up by polling
        with open(metrics, "a") as fh:
            fh.write(json.dumps({"step": 3, "loss/D": 0.9, "loss/G": 1.1}) + "\n")
        page.wait_for_selector('#mon-charts[data-step="3"]', timeout=15_000)
    finally:
        metrics.write_text(before)
    page.screenshot(path=tmp_path / "monitor.png", full_page=True)


def test_playground_advances_and_redraws(page, tmp_path):
    _tab(page, "playground")
    page.wait_for_function("() => document.querySelector('#pg-step-n').textContent === '0'")
    page.wait_for_function("() => !document.querySelector('#pg-reset').disabled")
    assert _painted(page, "#pg-canvas") > 1000
    before = page.evaluate("() => document.querySelector('#pg-canvas').toDataURL()")
    page.fill("#pg-steps", "15")
    page.click("#pg-step")
    page.wait_for_function("() => document.querySelector('#pg-step-n').textContent === '15'")
    assert page.evaluate("() => document.querySelector('#pg-canvas').toDataURL()") != before
    assert "/" in page.inner_text("#pg-modes")  # e.g. "1 / 8"
    page.screenshot(path=tmp_path / "playground.png", full_page=True)


def test_two_users_have_their_own_playgrounds(page, browser, server):
    ctx2, other, errors = _open(browser, server.url)
    try:
        for p, data in ((page, "moons"), (other, "spiral")):
            _tab(p, "playground")
            p.wait_for_function("() => !document.querySelector('#pg-reset').disabled")
            p.select_option("#pg-data", data)
            p.wait_for_function("() => !document.querySelector('#pg-reset').disabled")
        page.fill("#pg-steps", "7")
        page.click("#pg-step")
        page.wait_for_function("() => document.querySelector('#pg-step-n').textContent === '7'")
        other.fill("#pg-steps", "3")
        other.click("#pg-step")
        other.wait_for_function("() => document.querySelector('#pg-step-n').textContent === '3'")
        page.click("#pg-step")
        page.wait_for_function("() => document.querySelector('#pg-step-n').textContent === '14'")
        assert other.inner_text("#pg-step-n") == "3"
    finally:
        ctx2.close()
    assert not errors, errors


def test_oversized_uploads_show_an_error(page, tmp_path):
    _tab(page, "detect")
    assert "no detector loaded" in page.inner_text("#det-status").lower()
    huge = tmp_path / "huge.png"  # a file on disk: the browser reads it locally, nothing to transfer
    with open(huge, "wb") as fh:
        fh.truncate(LIMITS["upload_bytes"] + 1)
    page.set_input_files("#det-file", str(huge))
    page.wait_for_selector("#det-form .error:not([hidden])")
    assert "more than the limit" in page.inner_text("#det-form .error")
    page.set_input_files("#det-file", files=[{"name": "bomb.png", "mimeType": "image/png", "buffer": pixel_bomb(5000, 5000)}])
    page.wait_for_function("() => document.querySelector('#det-form .error').textContent.includes('pixels')")
    assert "25,000,000 pixels is more than the limit" in page.inner_text("#det-form .error")
    page.screenshot(path=tmp_path / "detect.png", full_page=True)


def test_token_link_logs_the_browser_in(browser, root, tmp_path):
    """A studio with a token (as beyond loopback): the printed link sets the cookie, then every
    page works; without the link the page is refused."""
    srv = make_server(runs=root, token="browser-token-0123456789")
    start_in_thread(srv)
    try:
        ctx = browser.new_context()
        page = ctx.new_page()
        page.set_default_timeout(90_000)  # headroom for a loaded 2-core machine
        resp = page.goto(srv.url)
        assert resp.status == 403 and "token" in page.content()
        ctx2, page2, errors = _open(browser, srv.login_url)
        assert "token" not in page2.url  # redirected to the plain URL
        page2.select_option("#model", "dcgan")
        page2.click("#gen-go")
        page2.wait_for_function("() => document.querySelector('#gen-img').naturalWidth > 0")
        _tab(page2, "playground")
        page2.wait_for_function("() => !document.querySelector('#pg-reset').disabled")
        page2.click("#pg-step")
        page2.wait_for_function("() => document.querySelector('#pg-step-n').textContent !== '0'")
        page2.screenshot(path=tmp_path / "token.png", full_page=True)
        ctx.close()
        ctx2.close()
        assert not errors, errors
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_foreign_page_cannot_make_the_studio_work(browser, server, monkeypatch):
    """A page of another origin posts to the studio as a drive-by would (a simple text/plain
    request needs no preflight, a JSON one does): the studio never runs the request."""
    calls = []
    real = server.studio.generate
    monkeypatch.setattr(server.studio, "generate", lambda p: calls.append(p) or real(p))
    ctx = browser.new_context()
    page = ctx.new_page()
    page.route("http://evil.test/", lambda route: route.fulfill(body="<html><body>hi</body></html>",
                                                               content_type="text/html"))
    page.goto("http://evil.test/")
    out = page.evaluate("""async (url) => {
        const res = [];
        for (const type of ["text/plain", "application/json", "multipart/form-data; boundary=x"]) {
          try { await fetch(url, { method: "POST", headers: { "Content-Type": type }, mode: "no-cors",
                                   body: '{"model": "dcgan", "batch": 64}' }); res.push("sent"); }
          catch (e) { res.push("blocked"); }
        }
        return res; }""", server.url + "api/generate")
    ctx.close()
    assert len(out) == 3 and calls == []
    assert real({"model": "dcgan", "batch": 1})["n"] == 1  # the same call from the page itself works


# --------------------------------------------------------------------------- README screenshots


def _combined_root(tmp_path, *roots) -> Path:
    """One runs folder with a copy of every run of ``roots`` (later names win; copies, since
    the studio does not follow links out of its runs folder)."""
    import shutil

    out = tmp_path / "all-runs"
    out.mkdir()
    for r in roots:
        for run in sorted(Path(r).iterdir()):
            if run.is_dir() and not run.name.startswith("."):
                shutil.rmtree(out / run.name, ignore_errors=True)
                shutil.copytree(run, out / run.name, symlinks=False)
    return out


def _pick(page, *prefer: str) -> str:
    values = page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
    for want in prefer:
        for v in values:
            if want in v:
                page.select_option("#model", v)
                page.wait_for_timeout(300)
                page.wait_for_function("() => document.querySelector('#model-info').textContent !== ''")
                return v
    return values[0]


def _loaded(page, selector: str) -> None:
    page.wait_for_function(f"() => document.querySelector('{selector}').naturalWidth > 0", timeout=60_000)


@pytest.mark.skipif(not os.environ.get("GANKIT_SCREENSHOTS"), reason="set GANKIT_SCREENSHOTS=docs/img to make them")
def test_docs_screenshots(browser, root, tmp_path_factory, tmp_path):
    """One screenshot per page, written to ``$GANKIT_SCREENSHOTS/studio-<page>.png``."""
    import numpy as np
    from skimage import data as skdata

    out = Path(os.environ["GANKIT_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    extra = [os.environ["GANKIT_SCREENSHOT_RUNS"]] if os.environ.get("GANKIT_SCREENSHOT_RUNS") else []
    runs = _combined_root(tmp_path, root, extra_root(tmp_path_factory), *extra)
    srv = _serve(runs, os.environ.get("GANKIT_SCREENSHOT_DETECTOR"))
    ctx, page, errors = _open(browser, srv.url, 1360, 860)
    try:
        _pick(page, "demo", "dcgan")
        page.fill("#gen-batch", "36")
        page.click("#gen-go")
        _loaded(page, "#gen-img")
        page.screenshot(path=out / "studio-generate.png")

        _pick(page, "stylegan2")
        _tab(page, "explore")
        _loaded(page, "#int-strip")
        _loaded(page, "#mix-img")
        page.screenshot(path=out / "studio-explore.png", full_page=True)

        _pick(page, "pix2pix")
        _tab(page, "translate")
        photo = tmp_path / "photo.png"
        photo.write_bytes(png(np.asarray(skdata.astronaut())[::2, ::2]))
        page.set_input_files("#tr-file", str(photo))
        page.wait_for_selector("#tr-mask-wrap:not([hidden])")
        box = page.locator("#tr-canvas").bounding_box()
        page.mouse.move(box["x"] + 110, box["y"] + 70)
        page.mouse.down()
        for i in range(24):
            page.mouse.move(box["x"] + 110 + 2 * i, box["y"] + 70 + i)
        page.mouse.up()
        page.click("#tr-go")
        _loaded(page, "#tr-out")
        page.screenshot(path=out / "studio-translate.png")

        _tab(page, "monitor")
        page.wait_for_selector("#mon-runs li[data-name]")
        name = next((v for v in page.eval_on_selector_all("#mon-runs li", "ls => ls.map(l => l.dataset.name)")
                     if "demo" in v), "dcgan")
        page.click(f'#mon-runs li[data-name="{name}"]')
        page.wait_for_selector('#mon-charts .chart[data-group="loss"] canvas')
        _loaded(page, "#mon-sample")
        page.wait_for_timeout(500)
        page.screenshot(path=out / "studio-monitor.png")

        _tab(page, "playground")
        page.wait_for_function("() => !document.querySelector('#pg-reset').disabled")
        page.select_option("#pg-pack", "2")
        page.wait_for_function("() => !document.querySelector('#pg-reset').disabled")
        page.fill("#pg-steps", "300")
        for k in range(1, 5):
            page.click("#pg-step")
            page.wait_for_function(f"() => document.querySelector('#pg-step-n').textContent === '{300 * k}'",
                                   timeout=120_000)
        page.screenshot(path=out / "studio-playground.png")

        _tab(page, "detect")
        if os.environ.get("GANKIT_SCREENSHOT_DETECTOR"):  # score one generated image
            import gankit

            gen = next(runs / n for n in ("demo", "dcgan") if (runs / n).exists())
            x = gankit.load(gen).sample(1, seed=3)
            sample = tmp_path / "generated.png"
            sample.write_bytes(png(((x[0, 0].clamp(-1, 1) + 1) * 127.5).round().byte().numpy()))
            page.set_input_files("#det-file", str(sample))
            page.wait_for_selector("#det-result:not([hidden])")
            _loaded(page, "#det-img")
        page.screenshot(path=out / "studio-detect.png")
        time.sleep(0.2)
    finally:
        ctx.close()
        srv.shutdown()
        srv.server_close()
    assert not errors, errors
