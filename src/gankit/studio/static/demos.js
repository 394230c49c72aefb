// gankit studio: the lectures' demos, "Paint a scene" (GauGAN / pix2pix edges -> photo),
// "Real or fake?" (HYPE, Zhou et al. 2019) and "Listen" (music checkpoints). app.js imports this module and calls
// initDemos(helpers) once, demosModel(id) when the model changes and demosPage(name) when a tab
// is shown; everything else goes through the JSON API of gankit.studio.demo_routes.

let h = null; // app.js's helpers: api, state, $, $$, showError, busy, setAvailable, options, latest
const demos = { spec: null, model: null };

export function initDemos(helpers) {
  h = helpers;
  initPaint();
  initQuiz();
  initListen();
}

export async function demosModel(id) {
  demos.model = id || null;
  demos.spec = null;
  paint.spec = paint.grid = null; // nothing is painted or sent for the old model meanwhile
  delete document.body.dataset.demos;
  if (id) {
    try { demos.spec = await h.api("/api/demos", { query: { model: id } }); } catch (e) { h.toast(e.message); }
  }
  if (demos.model !== (id || null)) return; // another model was picked meanwhile
  const s = demos.spec;
  const none = "start the studio with --checkpoint C or --runs DIR to load a model";
  paintModel(s && s.paint, s ? s.why.paint : none);
  quizModel(s && s.quiz, s ? s.why.quiz : none);
  listenModel(s && s.listen, s ? s.why.listen : none);
  document.body.dataset.demos = id || ""; // ready (what the browser tests wait for)
  if (h.state.page === "paint") paintShown();
}

export function demosPage(name) {
  if (name === "paint") paintShown();
}

// ------------------------------------------------------------------ Paint a scene
// The painting is a grid of palette ids, one per model input pixel (spec.grid on a side): what
// you paint is exactly what the model sees. The canvas shows it enlarged (nearest neighbour).

const paint = { spec: null, grid: null, colour: 1, down: false, last: null, timer: null, renders: 0, dirty: true, send: null };

function initPaint() {
  const canvas = h.$("#paint-canvas");
  h.$("#paint-size").addEventListener("input", () => (h.$("#paint-size-out").textContent = h.$("#paint-size").value));
  h.$("#paint-eraser").addEventListener("click", () => pickColour(paint.spec ? paint.spec.eraser : 0, true));
  h.$("#paint-clear").addEventListener("click", () => { clearGrid(); drawGrid(); scheduleRender(); });
  h.$("#paint-dice").addEventListener("click", () => { h.$("#paint-seed").value = Math.floor(Math.random() * 1e6); scheduleRender(); });
  h.$("#paint-seed").addEventListener("change", () => scheduleRender());
  h.$("#paint-form").addEventListener("submit", (ev) => ev.preventDefault());
  canvas.addEventListener("pointerdown", (ev) => {
    if (!paint.grid) return;
    paint.down = true; paint.last = null;
    canvas.setPointerCapture(ev.pointerId);
    stroke(ev);
  });
  canvas.addEventListener("pointermove", (ev) => { if (paint.down) stroke(ev); });
  const up = () => { paint.down = false; paint.last = null; };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
}

function paintModel(spec, why) {
  const page = h.$("#page-paint");
  h.setAvailable(page, spec ? null : why);
  paint.spec = spec || null;
  paint.grid = null;
  if (!spec) return;
  const pal = h.$("#paint-palette");
  pal.replaceChildren(...spec.palette.map((p) => {
    const b = document.createElement("button");
    b.type = "button"; b.className = "swatch-btn"; b.dataset.id = p.id; b.title = `${p.id}: ${p.name}`;
    b.setAttribute("role", "radio");
    const dot = document.createElement("i");
    dot.style.background = p.color;
    b.append(dot, document.createTextNode(p.name));
    b.addEventListener("click", () => pickColour(p.id));
    return b;
  }));
  h.$("#paint-size").max = Math.max(2, Math.round(spec.grid / 4));
  h.$("#paint-size").value = Math.max(1, Math.round(spec.grid / 16));
  h.$("#paint-size-out").textContent = h.$("#paint-size").value;
  h.$("#paint-labels").hidden = spec.mode !== "labels";
  h.$("#paint-hint").textContent = spec.mode === "labels"
    ? `Paint with the model's ${spec.palette.length} label classes on a ${spec.grid}×${spec.grid} label map (the model's input); the output follows as you paint.`
    : `Draw dark strokes on white, like the model's edge maps (${spec.grid}×${spec.grid} pixels); the output follows as you paint.`;
  clearGrid();
  pickColour(spec.palette.length > 1 ? 1 : 0);
  drawGrid();
  h.$("#paint-out").removeAttribute("src");
  h.$("#paint-out-download").hidden = true;
  paint.dirty = true;
}

function paintShown() {
  if (paint.spec && paint.dirty) scheduleRender(0);
}

function pickColour(id, eraser = false) {
  paint.colour = id;
  h.$$("#paint-palette .swatch-btn").forEach((b) => b.setAttribute("aria-checked", String(!eraser && Number(b.dataset.id) === id)));
  h.$("#paint-eraser").classList.toggle("active", eraser);
}

function clearGrid() {
  const g = paint.spec.grid;
  paint.grid = new Uint8Array(g * g).fill(paint.spec.eraser);
}

// A round brush of radius `size` grid cells, stamped along the segment from the last point.
function stroke(ev) {
  const c = h.$("#paint-canvas"), r = c.getBoundingClientRect(), g = paint.spec.grid;
  const x = ((ev.clientX - r.left) / r.width) * g, y = ((ev.clientY - r.top) / r.height) * g;
  const from = paint.last || [x, y];
  const steps = Math.max(1, Math.ceil(Math.hypot(x - from[0], y - from[1]) * 2));
  const rad = Number(h.$("#paint-size").value) / 2;
  for (let s = 0; s <= steps; s++) {
    const cx = from[0] + ((x - from[0]) * s) / steps, cy = from[1] + ((y - from[1]) * s) / steps;
    for (let j = Math.floor(cy - rad); j <= Math.ceil(cy + rad); j++) {
      for (let i = Math.floor(cx - rad); i <= Math.ceil(cx + rad); i++) {
        if (i < 0 || j < 0 || i >= g || j >= g) continue;
        if ((i + 0.5 - cx) ** 2 + (j + 0.5 - cy) ** 2 <= Math.max(rad * rad, 0.25)) paint.grid[j * g + i] = paint.colour;
      }
    }
  }
  paint.last = [x, y];
  drawGrid();
  scheduleRender();
}

function drawGrid() {
  const c = h.$("#paint-canvas"), g = paint.spec.grid;
  const rgb = paint.spec.palette.map((p) => [1, 3, 5].map((k) => parseInt(p.color.slice(k, k + 2), 16)));
  const small = document.createElement("canvas");
  small.width = small.height = g;
  const sctx = small.getContext("2d"), im = sctx.createImageData(g, g);
  paint.grid.forEach((v, k) => { im.data.set([...rgb[v], 255], 4 * k); });
  sctx.putImageData(im, 0, 0);
  const ctx = c.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, c.width, c.height);
  h.$("#paint-download").href = c.toDataURL("image/png");
  if (paint.spec.mode === "labels") { // class ids as gray levels: what `gankit translate --input` reads
    paint.grid.forEach((v, k) => { im.data.set([v, v, v, 255], 4 * k); });
    sctx.putImageData(im, 0, 0);
    h.$("#paint-labels").href = small.toDataURL("image/png");
  }
}

// Throttled: one request ~300 ms after painting starts, then one per ~300 ms while it goes on,
// never two at once (the newest painting wins).
function scheduleRender(delay = 300) {
  paint.dirty = true;
  if (paint.timer !== null) return;
  paint.timer = setTimeout(() => { paint.timer = null; renderPaint(); }, delay);
}

function renderPaint() {
  paint.send = paint.send || h.latest(sendPaint);
  paint.send();
}

async function sendPaint() {
  if (!paint.spec || !paint.grid || !demos.model) return;
  const form = h.$("#paint-form"), g = paint.spec.grid;
  const labels = Array.from({ length: g }, (_, j) => Array.from(paint.grid.subarray(j * g, (j + 1) * g)));
  const seed = Number(h.$("#paint-seed").value) || 0;
  paint.dirty = false;
  h.$("#paint-status").textContent = "rendering…";
  try {
    const r = await h.api("/api/paint", { method: "POST", body: { model: demos.model, seed, labels } });
    h.showError(form, null);
    const out = h.$("#paint-out");
    out.src = r.output;
    out.dataset.renders = String(++paint.renders);
    h.$("#paint-out-download").href = r.output;
    h.$("#paint-out-download").download = r.filename;
    h.$("#paint-out-download").hidden = false;
    h.$("#paint-status").textContent = `output · seed ${r.seed}`;
  } catch (e) {
    h.showError(form, e);
    h.$("#paint-status").textContent = "output";
  }
}

// ------------------------------------------------------------------ Real or fake?
// The page gets pictures and a quiz id; the server keeps which were real until every answer
// is in, then scores them (gankit.studio.demos.score) and the page shows and exports the result.

const quiz = { id: null, items: [], answers: [], at: 0, scoring: false };

function initQuiz() {
  h.$("#quiz-form").addEventListener("submit", (ev) => { ev.preventDefault(); h.busy(h.$("#quiz-go"), startQuiz); });
  h.$("#quiz-real").addEventListener("click", () => answerQuiz("real"));
  h.$("#quiz-fake").addEventListener("click", () => answerQuiz("fake"));
  document.addEventListener("keydown", (ev) => {
    if (h.state.page !== "quiz" || h.$("#quiz-play").hidden || ev.target.matches("input, select, textarea")) return;
    if (ev.key === "r" || ev.key === "R") answerQuiz("real");
    if (ev.key === "f" || ev.key === "F") answerQuiz("fake");
  });
}

function quizModel(spec, why) {
  h.setAvailable(h.$("#page-quiz"), spec ? null : why);
  showQuizPart("empty");
  if (!spec) return;
  const sizes = [10, 20, 40].filter((n) => n >= spec.sizes[0] && n <= spec.sizes[1]);
  h.options(h.$("#quiz-n"), sizes.map((n) => [n, `${n} images`]), spec.default);
}

function showQuizPart(part) {
  h.$("#quiz-empty").hidden = part !== "empty";
  h.$("#quiz-play").hidden = part !== "play";
  h.$("#quiz-result").hidden = part !== "result";
}

async function startQuiz() {
  const form = h.$("#quiz-form");
  h.showError(form, null);
  try {
    const r = await h.api("/api/quiz/new", { method: "POST", body: { model: demos.model, n: Number(h.$("#quiz-n").value) } });
    Object.assign(quiz, { id: r.quiz, items: r.items, answers: [], at: 0, scoring: false });
    showQuizPart("play");
    showQuizItem();
  } catch (e) { h.showError(form, e); }
}

function showQuizItem() {
  const n = quiz.items.length;
  h.$("#quiz-img").src = quiz.items[quiz.at];
  h.$("#quiz-count").textContent = `${quiz.at + 1} / ${n}`;
  h.$("#quiz-bar").style.width = `${(100 * quiz.at) / n}%`;
}

async function answerQuiz(said) {
  if (!quiz.id || quiz.scoring || quiz.answers.length >= quiz.items.length) return;
  quiz.answers.push(said);
  if (quiz.answers.length < quiz.items.length) { quiz.at += 1; showQuizItem(); return; }
  quiz.scoring = true;
  try {
    const r = await h.api("/api/quiz/score", { method: "POST", body: { quiz: quiz.id, answers: quiz.answers } });
    showQuizResult(r);
  } catch (e) { h.showError(h.$("#quiz-form"), e); showQuizPart("empty"); }
}

const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)} %`);
const span = (iv) => (iv ? `${pct(iv[0])} – ${pct(iv[1])}` : "–");

function showQuizResult(r) {
  h.$("#quiz-fool").textContent = pct(r.fool_rate);
  h.$("#quiz-fool-n").textContent = `${r.fooled} of ${r.fakes} fakes judged real`;
  h.$("#quiz-real-acc").textContent = pct(r.real_accuracy);
  h.$("#quiz-real-acc-n").textContent = `${r.reals_judged_real} of ${r.reals} reals judged real`;
  h.$("#quiz-acc").textContent = pct(r.accuracy);
  h.$("#quiz-acc-n").textContent = `${r.correct} of ${r.n} right`;
  h.$("#quiz-hype").textContent = pct(r.hype_infinity);
  h.$("#quiz-interval").textContent = `95 % intervals (Wilson score): fool rate ${span(r.interval.fool_rate)}, `
    + `HYPE∞ error rate ${span(r.interval.hype_infinity)}. 50 % error means you could not tell the model's images from real ones.`;
  h.$("#quiz-grid").replaceChildren(...r.items.map((it, i) => {
    const f = document.createElement("figure");
    f.className = it.truth === it.answer ? "right" : "wrong";
    const img = document.createElement("img");
    img.src = quiz.items[i]; img.className = "pixel"; img.alt = it.truth;
    const cap = document.createElement("figcaption");
    cap.textContent = `${it.truth} · you: ${it.answer}`;
    f.append(img, cap);
    return f;
  }));
  const url = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: "application/json" }));
  h.$("#quiz-export").href = url;
  h.$("#quiz-bar").style.width = "100%";
  showQuizPart("result");
}

// ------------------------------------------------------------------ Listen
// One request per sample (seed, seed + 1, ...): a piano roll and a MIDI file inline, the WAV
// from its own URL (the page's security policy plays media from the studio's origin only).

function initListen() {
  h.$("#listen-dice").addEventListener("click", () => (h.$("#listen-seed").value = Math.floor(Math.random() * 1e6)));
  h.$("#listen-form").addEventListener("submit", (ev) => { ev.preventDefault(); h.busy(h.$("#listen-go"), compose); });
}

function listenModel(spec, why) {
  h.setAvailable(h.$("#page-listen"), spec ? null : why);
  h.$("#listen-list").replaceChildren();
  h.$("#listen-empty").hidden = false;
  if (spec) h.$("#listen-tracks").textContent = `${spec.tracks.join(", ")} · ${spec.bars} bars at ${spec.tempo} bpm`;
}

async function compose() {
  const form = h.$("#listen-form"), list = h.$("#listen-list");
  h.showError(form, null);
  const seed = Number(h.$("#listen-seed").value) || 0, n = Number(h.$("#listen-n").value);
  list.replaceChildren();
  try {
    for (let i = 0; i < n; i++) {
      const r = await h.api("/api/listen", { method: "POST", body: { model: demos.model, seed: seed + i } });
      const f = document.createElement("figure");
      f.className = "listen-item";
      const img = Object.assign(document.createElement("img"), { src: r.roll, alt: `piano roll, seed ${r.seed}` });
      const audio = Object.assign(document.createElement("audio"), { controls: true, preload: "metadata", src: r.wav });
      const cap = document.createElement("figcaption");
      const midi = Object.assign(document.createElement("a"), { className: "button", href: r.midi, download: r.filename + ".mid", textContent: "MIDI" });
      const wav = Object.assign(document.createElement("a"), { className: "button", href: r.wav, download: r.filename + ".wav", textContent: "WAV" });
      const text = document.createElement("span");
      text.textContent = `seed ${r.seed} · ${r.notes} notes · ${r.seconds} s`;
      const links = document.createElement("span");
      links.className = "links";
      links.append(midi, wav);
      cap.append(text, links);
      f.append(img, audio, cap);
      list.append(f);
      h.$("#listen-empty").hidden = true;
    }
  } catch (e) { h.showError(form, e); }
}
