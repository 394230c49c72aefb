// gankit studio: the page's logic. Plain ES module, no build step, no dependencies.
// Talks to the JSON API of gankit.studio.app; every error the server reports is shown
// in the card it belongs to. Uploads go as multipart form data (field "file"); the session
// id the server issued comes back with every request (header X-Gankit-Session).

import { demosModel, demosPage, initDemos } from "./demos.js";

const $ = (sel, el = document) => el.querySelector(sel);
const $$ = (sel, el = document) => [...el.querySelectorAll(sel)];
const state = { session: null, info: null, model: null, cap: null, loading: null, failed: false, limits: {}, page: null };
let modelSeq = 0; // the latest selectModel call; an older one still awaiting the server stops there
const COLORS = ["#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#7c3aed", "#64748b", "#ca8a04"];

// ------------------------------------------------------------------ plumbing

async function api(path, { method = "GET", body, query, upload } = {}) {
  const url = path + (query ? "?" + new URLSearchParams(query) : "");
  const opts = { method, headers: state.session ? { "X-Gankit-Session": state.session } : {} };
  if (upload !== undefined) {
    opts.body = new FormData();
    opts.body.append("file", upload, upload.name || "upload.png");  // the browser sets the multipart type
  } else if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(url, opts);
  } catch (e) {
    throw new Error("cannot reach the studio server (is it still running?)");
  }
  const isJson = (res.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new Error((data && data.error) || `the server answered ${res.status} ${res.statusText}`);
  return data;
}

function showError(scope, err) {
  const box = scope && (scope.classList.contains("error") ? scope : $(".error", scope));
  if (!box) return toast(err ? String(err.message || err) : "");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = String(err.message || err);
  box.hidden = false;
}

let toastTimer = null;
function toast(msg) {
  const t = $("#toast");
  t.textContent = msg;
  t.hidden = !msg;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 5000);
}

async function busy(button, fn) {
  if (button) button.disabled = true;
  try { return await fn(); } finally { if (button) button.disabled = false; }
}

// Run fn with the newest arguments, never more than one request at a time: a slider
// that moves during a request gets one more request when it returns.
function latest(fn) {
  let running = false, pending = null;
  return async function run(...args) {
    if (running) { pending = args; return; }
    running = true;
    try { await fn(...args); } finally {
      running = false;
      if (pending) { const a = pending; pending = null; run(...a); }
    }
  };
}

const num = (el) => (el.value === "" ? null : Number(el.value));
const fmt = (v) => {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
};
const ago = (t) => {
  if (!t) return "";
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
};
function options(select, items, selected) {
  select.replaceChildren(...items.map(([value, label]) => {
    const o = document.createElement("option");
    o.value = value; o.textContent = label;
    if (String(value) === String(selected)) o.selected = true;
    return o;
  }));
}
function setAvailable(page, why) {
  const notice = $("[data-unavailable]", page);
  notice.hidden = !why;
  if (why) notice.replaceChildren(Object.assign(document.createElement("b"), { textContent: "Not available for this checkpoint: " }), why);
  $$("[data-available]", page).forEach((el) => (el.hidden = !!why));
}
function toggleIf(page, flags) {
  $$("[data-if]", page).forEach((el) => (el.hidden = !flags[el.dataset.if]));
}

// ------------------------------------------------------------------ charts

function niceTicks(lo, hi, n = 4) {
  if (!isFinite(lo) || !isFinite(hi)) return [];
  if (hi - lo < 1e-12) { hi = lo + 1; lo = lo - 1; }
  const raw = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => raw <= s) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, canvas.clientWidth), h = Math.max(50, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [ctx, w, h];
}

// series: [{name, color, points: [[x, y], ...]}]
function lineChart(canvas, series) {
  const [ctx, w, h] = fitCanvas(canvas);
  ctx.clearRect(0, 0, w, h);
  const pts = series.flatMap((s) => s.points);
  ctx.font = "11px system-ui, sans-serif";
  // legend entries (name and last value), wrapped onto as many lines as they need
  const L = 46, R = 10, B = 20, legend = [];
  let lx = 6, ly = 9;
  series.forEach((s) => {
    const last = s.points.length ? s.points[s.points.length - 1][1] : null;
    const label = `${s.name} ${fmt(last)}`, width = ctx.measureText(label).width + 26;
    if (lx + width > w && lx > 6) { lx = 6; ly += 15; }
    legend.push([s.color, label, lx, ly]);
    lx += width;
  });
  const T = ly + 13;
  if (!pts.length) { ctx.fillStyle = "#9aa3b8"; ctx.fillText("no data yet", L, h / 2); return; }
  let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  let y0 = Math.min(...pts.map((p) => p[1])), y1 = Math.max(...pts.map((p) => p[1]));
  if (x1 === x0) x1 = x0 + 1;
  const pad = (y1 - y0) * 0.08 || Math.abs(y0) * 0.1 || 1;
  y0 -= pad; y1 += pad;
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (w - L - R);
  const Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (h - T - B);
  ctx.strokeStyle = "#eceef3"; ctx.fillStyle = "#8a92a6"; ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of niceTicks(y0, y1)) {
    ctx.beginPath(); ctx.moveTo(L, Y(v)); ctx.lineTo(w - R, Y(v)); ctx.stroke();
    ctx.fillText(fmt(v), L - 5, Y(v));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const v of niceTicks(x0, x1, 4)) {
    const label = fmt(v), half = ctx.measureText(label).width / 2;
    ctx.fillText(label, Math.min(Math.max(X(v), L + half), w - half - 1), h - B + 5);
  }
  series.forEach((s) => {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.6; ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
    if (s.points.length === 1) { ctx.fillStyle = s.color; ctx.beginPath(); ctx.arc(X(s.points[0][0]), Y(s.points[0][1]), 2.5, 0, 7); ctx.fill(); }
  });
  ctx.textAlign = "left"; ctx.textBaseline = "middle";
  legend.forEach(([color, label, x, y]) => {
    ctx.fillStyle = color; ctx.fillRect(x, y - 2, 10, 3);
    ctx.fillStyle = "#4b5263"; ctx.fillText(label, x + 14, y);
  });
}

// ------------------------------------------------------------------ start-up and models

async function start() {
  state.info = await api("/api/info");
  state.session = state.info.session;
  state.limits = state.info.limits;
  $("#version").textContent = "v" + state.info.version;
  const models = state.info.models;
  options($("#model"), models.length ? models.map((m) => [m.id, m.label + (m.recipe ? ` (${m.recipe})` : "")])
    : [["", "no checkpoint loaded"]], state.info.default_model);
  $("#model").disabled = !models.length;
  $("#model").addEventListener("change", () => selectModel($("#model").value));
  $$(".tabs button").forEach((b) => b.addEventListener("click", () => showPage(b.dataset.page)));
  initGenerate(); initExplore(); initTranslate(); initMonitor(); initPlayground(); initDetect();
  initDemos({ api, state, $, $$, showError, busy, setAvailable, options, latest, toast });
  const fromHash = location.hash.slice(1);
  await selectModel(state.info.default_model);
  // a tab the user clicked while the first model loaded stays shown
  if (!state.page) showPage($(`.tabs button[data-page="${fromHash}"]`) ? fromHash : "generate");
  document.body.dataset.ready = "1"; // start-up done (what the browser tests wait for)
}

// A button pressed while a model's capabilities load waits for them (state.loading) instead of
// finding state.cap empty and doing nothing. Picking the model that is already shown (or still
// loading) again changes nothing: a quiz, painting or walk in progress is kept. (A browser fires
// "change" only for a new value, but scripts and test drivers may fire it for the same one.)
function selectModel(id) {
  id = id || null;
  if (state.loading && id === state.model && !state.failed) return state.loading;
  delete document.body.dataset.demos; // not ready for the new pick until its demos are set up
  state.loading = loadModel(id);
  return state.loading;
}

async function modelReady() {
  // the latest pick's load: a model picked again while waiting replaces state.loading
  for (let p = null; p !== state.loading; ) await (p = state.loading);
}

async function loadModel(id) {
  const seq = ++modelSeq;
  state.model = id || null;
  state.cap = null;
  const none = "start the studio with --checkpoint C or --runs DIR to load a model";
  let cap = null;
  if (id) {
    try {
      cap = await api("/api/model", { query: { model: id } });
    } catch (e) {
      toast(e.message);
    }
  }
  if (seq !== modelSeq) return; // another model was picked meanwhile: its call sets the pages up
  state.cap = cap;
  state.failed = Boolean(id) && !cap; // a failed load is retried when the same model is picked again
  const c = state.cap;
  $("#model-info").textContent = c ? `${c.recipe} · ${c.data || c.kind} · step ${c.step}` : "";
  const why = (key, fallback) => (c ? c.why[key] || fallback : none);
  genModel(c, why("generate"));
  exploreModel(c, why("explore"));
  translateModel(c, why("translate"));
  await demosModel(state.model);
  if (seq !== modelSeq) return;
  explored = false;
  if (state.page === "explore") exploreFirst();
}

function showPage(name) {
  state.page = name;
  $$(".tabs button").forEach((b) => b.classList.toggle("active", b.dataset.page === name));
  $$(".page").forEach((p) => p.classList.toggle("active", p.id === "page-" + name));
  history.replaceState(null, "", "#" + name);
  if (name === "explore") exploreFirst();
  if (name === "monitor") monitorShown(); else monitorHidden();
  if (name === "playground") playgroundShown(); else pgPause();
  demosPage(name);
}

// ------------------------------------------------------------------ Generate

function initGenerate() {
  const form = $("#gen-form");
  $("#gen-dice").addEventListener("click", () => ($("#gen-seed").value = Math.floor(Math.random() * 1e6)));
  $("#gen-trunc").addEventListener("input", () => {
    const v = Number($("#gen-trunc").value);
    $("#gen-trunc-out").textContent = v === 1 ? "off" : v.toFixed(2);
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("#gen-go"), generate);
  });
}

function genModel(cap, why) {
  const page = $("#page-generate");
  const g = cap && cap.generate;
  setAvailable(page, g ? null : why);
  if (!g) return;
  toggleIf(page, { classes: g.classes > 0, truncation: g.truncation, text: g.text });
  const names = g.class_names.length ? g.class_names : [...Array(g.classes).keys()].map(String);
  options($("#gen-class"), [["", "all classes (cycled)"], ...names.map((n, i) => [i, `${i}: ${n}`])], "");
  $("#gen-batch").max = state.limits.batch;
  $("#gen-figure").hidden = true;
  $("#gen-empty").hidden = false;
}

async function generate() {
  const form = $("#gen-form");
  showError(form, null);
  await modelReady();
  const g = state.cap && state.cap.generate;
  if (!g) return;
  const t = Number($("#gen-trunc").value);
  const body = { model: state.model, seed: num($("#gen-seed")), batch: num($("#gen-batch")) };
  if (g.classes && $("#gen-class").value !== "") body.class = Number($("#gen-class").value);
  if (g.truncation && t !== 1) body.truncation = t;
  if (g.text) body.text = $("#gen-text").value;
  try {
    const r = await api("/api/generate", { method: "POST", body });
    $("#gen-img").src = r.image;
    $("#gen-img").classList.toggle("pixel", !g.points);
    $("#gen-download").href = r.image;
    $("#gen-download").download = r.filename;
    $("#gen-caption").textContent = `${r.n} sample${r.n > 1 ? "s" : ""} · seed ${r.seed} · ${state.cap.recipe}, step ${state.cap.step}`;
    $("#gen-figure").hidden = false;
    $("#gen-empty").hidden = true;
  } catch (e) {
    showError(form, e);
  }
}

// ------------------------------------------------------------------ Explore

let explored = false;

function initExplore() {
  const interp = latest(interpolate);
  ["#int-a", "#int-b", "#int-mode", "#int-class"].forEach((s) => $(s).addEventListener("change", () => interp()));
  $("#int-t").addEventListener("input", () => {
    $("#int-t-out").textContent = Number($("#int-t").value).toFixed(2);
    interp();
  });
  const ed = latest(editDirections);
  $("#dir-seed").addEventListener("change", () => ed());
  $("#dir-reset").addEventListener("click", () => {
    $$("#dir-sliders input").forEach((s) => { s.value = 0; s.dispatchEvent(new Event("input")); });
  });
  $("#dir-sliders").addEventListener("input", (ev) => {
    if (ev.target.matches("input")) { ev.target.nextElementSibling.textContent = Number(ev.target.value).toFixed(1); ed(); }
  });
  const mx = latest(styleMix);
  $("#mix-x").addEventListener("input", () => { $("#mix-x-out").textContent = $("#mix-x").value; mx(); });
  $("#mix-go").addEventListener("click", () => mx());
  state.explore = { interp, ed, mx };
}

function exploreModel(cap, why) {
  const page = $("#page-explore");
  const e = cap && cap.explore;
  setAvailable(page, e ? null : why);
  if (!e) return;
  toggleIf(page, { classes: e.classes > 0 });
  options($("#int-class"), [...Array(e.classes).keys()].map((i) => [i, String(i)]), 0);
  ["#int-img", "#int-strip", "#dir-img", "#mix-img"].forEach((s) => $(s).removeAttribute("src"));
  $("#dir-none").hidden = !!e.directions;
  $("#dir-body").hidden = !e.directions;
  if (!e.directions) $("#dir-none").textContent = "Not available for this checkpoint: " + cap.why.directions;
  $("#dir-sliders").replaceChildren(...(e.directions || []).map((name) => {
    const l = document.createElement("label");
    const span = Object.assign(document.createElement("span"), { textContent: name });
    const input = Object.assign(document.createElement("input"), { type: "range", min: -3, max: 3, step: 0.1, value: 0 });
    input.dataset.name = name;
    l.append(span, input, Object.assign(document.createElement("output"), { textContent: "0.0" }));
    return l;
  }));
  $("#mix-none").hidden = !!e.style_mix;
  $("#mix-body").hidden = !e.style_mix;
  if (!e.style_mix) $("#mix-none").textContent = "Not available for this checkpoint: " + cap.why.style_mix;
  else {
    $("#mix-x").max = e.style_mix.num_ws;
    $("#mix-x").value = Math.min(4, e.style_mix.num_ws);
    $("#mix-x-out").textContent = $("#mix-x").value;
  }
}

function exploreFirst() {
  const e = state.cap && state.cap.explore;
  if (!e || explored) return;
  explored = true;
  state.explore.interp();
  if (e.directions) state.explore.ed();
  if (e.style_mix) state.explore.mx();
}

function exploreClass(body) {
  const e = state.cap.explore;
  if (e.classes) body.class = Number($("#int-class").value || 0);
  return body;
}

async function interpolate() {
  const card = $("#int-img").closest(".card");
  await modelReady();
  if (!state.cap || !state.cap.explore) return;
  try {
    const r = await api("/api/interpolate", { method: "POST", body: exploreClass({
      model: state.model, a: num($("#int-a")), b: num($("#int-b")), t: Number($("#int-t").value),
      mode: $("#int-mode").value, frames: 8 }) });
    $("#int-img").src = r.image;
    $("#int-strip").src = r.strip;
    showError(card, null);
  } catch (e) { showError(card, e); }
}

async function editDirections() {
  const card = $("#dir-card");
  await modelReady();
  if (!state.cap || !state.cap.explore || !state.cap.explore.directions) return;
  const amounts = {};
  $$("#dir-sliders input").forEach((s) => (amounts[s.dataset.name] = Number(s.value)));
  try {
    const r = await api("/api/edit", { method: "POST", body: exploreClass({ model: state.model, seed: num($("#dir-seed")), amounts }) });
    $("#dir-img").src = r.image;
    showError(card, null);
  } catch (e) { showError(card, e); }
}

async function styleMix() {
  const card = $("#mix-card");
  await modelReady();
  if (!state.cap || !state.cap.explore || !state.cap.explore.style_mix) return;
  try {
    const r = await api("/api/stylemix", { method: "POST", body: {
      model: state.model, coarse: $("#mix-coarse").value, fine: $("#mix-fine").value, crossover: Number($("#mix-x").value) } });
    $("#mix-img").src = r.image;
    showError(card, null);
  } catch (e) { showError(card, e); }
}

// ------------------------------------------------------------------ Translate

const tr = { file: null, img: null, mask: null, painting: false };

function initTranslate() {
  const form = $("#tr-form");
  $("#tr-file").addEventListener("change", () => loadTranslateFile($("#tr-file").files[0]));
  const drop = $("#tr-drop");
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault(); drop.classList.remove("over");
    if (ev.dataTransfer.files[0]) loadTranslateFile(ev.dataTransfer.files[0]);
  });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); busy($("#tr-go"), translate); });
  $("#tr-clear").addEventListener("click", () => { clearMask(); drawMaskCanvas(); });
  const canvas = $("#tr-canvas");
  const paint = (ev) => {
    if (!tr.painting || !tr.mask) return;
    const r = canvas.getBoundingClientRect();
    const x = ((ev.clientX - r.left) / r.width) * canvas.width, y = ((ev.clientY - r.top) / r.height) * canvas.height;
    const m = tr.mask.getContext("2d");
    m.fillStyle = "#000"; m.beginPath();
    m.arc(x, y, (Number($("#tr-brush").value) * canvas.width) / 256, 0, 7); m.fill();
    drawMaskCanvas();
  };
  canvas.addEventListener("pointerdown", (ev) => { tr.painting = true; canvas.setPointerCapture(ev.pointerId); paint(ev); });
  canvas.addEventListener("pointermove", paint);
  canvas.addEventListener("pointerup", () => (tr.painting = false));
}

function translateModel(cap, why) {
  const page = $("#page-translate");
  const t = cap && cap.translate;
  setAvailable(page, t ? null : why);
  if (!t) return;
  toggleIf(page, { directions: t.directions.length > 1, domains: t.domains.length > 0, masked: t.input === "masked" });
  options($("#tr-direction"), t.directions.map((d) => [d, d === "AtoB" ? "A → B" : "B → A"]), t.directions[0]);
  options($("#tr-domain"), t.domains.map((d, i) => [i, d]), 0);
  const size = Math.max(256, t.resolution);
  $("#tr-canvas").width = $("#tr-canvas").height = size;
  $("#tr-result").hidden = true;
  $("#tr-mask-wrap").hidden = !(t.input === "masked" && tr.img);
  if (tr.img) { clearMask(); drawMaskCanvas(); }
}

function loadTranslateFile(file) {
  const form = $("#tr-form");
  showError(form, null);
  tr.file = file || null;
  tr.img = null;
  if (!file) return;
  if (file.size > state.limits.upload_bytes) {
    tr.file = null;
    showError(form, `upload: ${file.size.toLocaleString()} bytes is more than the limit of ${state.limits.upload_bytes.toLocaleString()} bytes`);
    return;
  }
  $("#tr-empty").hidden = true;
  const t = state.cap && state.cap.translate;
  if (!t || t.input !== "masked") { $("#tr-empty").textContent = `Ready: ${file.name}. Press Translate.`; $("#tr-empty").hidden = false; return; }
  const img = new Image();
  img.onload = () => { tr.img = img; clearMask(); $("#tr-mask-wrap").hidden = false; drawMaskCanvas(); URL.revokeObjectURL(img.src); };
  img.onerror = () => showError(form, "upload: the browser cannot read this file as an image");
  img.src = URL.createObjectURL(file);
}

function clearMask() {
  const c = $("#tr-canvas");
  tr.mask = document.createElement("canvas");
  tr.mask.width = c.width; tr.mask.height = c.height;
}

function drawMaskCanvas() {
  const c = $("#tr-canvas"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (tr.img) ctx.drawImage(tr.img, 0, 0, c.width, c.height);
  if (tr.mask) {
    const tint = document.createElement("canvas");
    tint.width = c.width; tint.height = c.height;
    const t = tint.getContext("2d");
    t.drawImage(tr.mask, 0, 0);
    t.globalCompositeOperation = "source-in";
    t.fillStyle = "rgba(225, 29, 72, 0.6)"; t.fillRect(0, 0, c.width, c.height);
    ctx.drawImage(tint, 0, 0);
  }
}

// The inpainting input: the picture with the painted hole made transparent (alpha 0).
function maskedBlob() {
  const c = document.createElement("canvas");
  c.width = tr.mask.width; c.height = tr.mask.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(tr.img, 0, 0, c.width, c.height);
  ctx.globalCompositeOperation = "destination-out";
  ctx.drawImage(tr.mask, 0, 0);
  return new Promise((resolve) => c.toBlob(resolve, "image/png"));
}

async function translate() {
  const form = $("#tr-form");
  showError(form, null);
  await modelReady();
  const t = state.cap && state.cap.translate;
  if (!t) return;
  if (!tr.file) return showError(form, "choose an image first");
  const body = t.input === "masked" && tr.img ? await maskedBlob() : tr.file;
  const query = { model: state.model, direction: $("#tr-direction").value || "AtoB", seed: num($("#tr-seed")) ?? 0 };
  if (t.domains.length) query.domain = $("#tr-domain").value;
  try {
    const r = await api("/api/translate", { method: "POST", upload: body, query });
    $("#tr-in").src = r.input;
    $("#tr-out").src = r.output;
    $("#tr-download").href = r.output;
    $("#tr-download").download = r.filename;
    $("#tr-result").hidden = false;
    $("#tr-empty").hidden = true;
  } catch (e) { showError(form, e); }
}

// ------------------------------------------------------------------ Training monitor

const mon = { selected: null, timer: null, tick: 0, sampleMtime: null };

function initMonitor() {}

function monitorShown() {
  if (!state.info.runs_root) {
    $("#mon-none").hidden = false;
    $("#mon-none").textContent = "No runs folder: start the studio with --runs DIR (for example --runs runs) to watch training runs.";
    $("#mon-body").hidden = true;
    return;
  }
  refreshRuns();
  clearInterval(mon.timer);
  mon.timer = setInterval(pollMonitor, 2000);
}

function monitorHidden() { clearInterval(mon.timer); mon.timer = null; }

async function pollMonitor() {
  if (document.hidden) return;
  mon.tick += 1;
  if (mon.tick % 3 === 0) await refreshRuns(false);
  if (mon.selected) await showRun(mon.selected, false);
}

async function refreshRuns(selectFirst = true) {
  try {
    const r = await api("/api/runs");
    $("#mon-root").textContent = r.root || "";
    const list = $("#mon-runs");
    list.replaceChildren(...r.runs.map((run) => {
      const li = document.createElement("li");
      li.dataset.name = run.name;
      li.classList.toggle("active", run.name === mon.selected);
      const title = Object.assign(document.createElement("b"), { textContent: run.name === "." ? "(this run)" : run.name });
      const meta = Object.assign(document.createElement("small"), {
        textContent: [run.recipe, run.data].filter(Boolean).join(" · ") + ` · step ${run.step}${run.steps ? " / " + run.steps : ""} · ${ago(run.updated)}` });
      li.append(title, meta);
      if (run.steps) {
        const bar = document.createElement("div"); bar.className = "progress";
        const fill = document.createElement("div"); fill.style.width = `${Math.min(100, (100 * run.step) / run.steps)}%`;
        bar.append(fill); li.append(bar);
      }
      li.addEventListener("click", () => showRun(run.name, true));
      return li;
    }));
    if (!r.runs.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "no runs yet" }));
    if (selectFirst && !mon.selected && r.runs.length) await showRun(r.runs[0].name, true);
    await refreshCompare(r.runs.map((x) => x.name));
  } catch (e) { showError($(".run-view"), e); }
}

const GROUP_ORDER = ["loss", "D", "metrics", "reg"];
function groupRank(g) { const i = GROUP_ORDER.indexOf(g); return i < 0 ? (g === "speed" ? 99 : 50) : i; }

async function showRun(name, fresh) {
  const view = $(".run-view");
  if (fresh) { mon.selected = name; mon.sampleMtime = null; $("#mon-charts").replaceChildren(); }
  $$("#mon-runs li").forEach((li) => li.classList.toggle("active", li.dataset.name === name));
  try {
    const r = await api("/api/run", { query: { name } });
    if (mon.selected !== name) return;
    showError(view, null);
    $("#mon-title").textContent = `${name === "." ? "this run" : name}` + (r.recipe ? ` — ${r.recipe} on ${r.data}` : "");
    $("#mon-live").hidden = !(r.updated && Date.now() / 1000 - r.updated < 30);
    const groups = Object.keys(r.groups).sort((a, b) => groupRank(a) - groupRank(b) || a.localeCompare(b));
    const charts = $("#mon-charts");
    charts.dataset.step = r.step;
    groups.forEach((g) => {
      let box = $(`.chart[data-group="${CSS.escape(g)}"]`, charts);
      if (!box) {
        box = document.createElement("div"); box.className = "chart"; box.dataset.group = g;
        box.append(Object.assign(document.createElement("h3"), { textContent: g }), document.createElement("canvas"));
        charts.append(box);
      }
      lineChart($("canvas", box), r.groups[g].map((k, i) => ({ name: k.includes("/") ? k.split("/").slice(1).join("/") : k,
        color: COLORS[i % COLORS.length], points: r.series[k] })));
    });
    if (!groups.length) charts.replaceChildren(Object.assign(document.createElement("p"), { className: "placeholder", textContent: "No metrics logged yet (metrics.jsonl is empty)." }));
    if (r.sample_mtime && r.sample_mtime !== mon.sampleMtime) {
      mon.sampleMtime = r.sample_mtime;
      $("#mon-sample").src = `/api/run/sample?${new URLSearchParams({ name, t: r.sample_mtime })}`;
      $("#mon-sample-cap").textContent = `newest samples (step ${r.step}, ${ago(r.sample_mtime)})`;
    }
    $("#mon-sample-fig").hidden = !r.sample_mtime;
  } catch (e) { showError(view, e); }
}

async function refreshCompare(names) {
  const table = $("#mon-compare");
  if (!names.length) { table.replaceChildren(); return; }
  const r = await api("/api/compare", { query: { names: names.join(",") } });
  const keys = r.keys.filter((k) => !k.startsWith("speed/")).slice(0, 14);
  const head = document.createElement("tr");
  ["run", "recipe", "step", ...keys].forEach((k) => head.append(Object.assign(document.createElement("th"), { textContent: k })));
  const rows = r.runs.map((run) => {
    const tr_ = document.createElement("tr");
    [run.name, run.recipe || "", run.step, ...keys.map((k) => run.last[k])].forEach((v, i) =>
      tr_.append(Object.assign(document.createElement("td"), { textContent: i < 2 ? String(v) : fmt(v ?? null) })));
    return tr_;
  });
  table.replaceChildren(head, ...rows);
}

// ------------------------------------------------------------------ 2D playground

const pg = { state: null, playing: false, started: false, ready: null };

function initPlayground() {
  const p = state.info.playground;
  options($("#pg-data"), p.datasets.map((d) => [d, d]), "ring8");
  options($("#pg-loss"), p.losses.map((d) => [d, d]), "nonsaturating");
  options($("#pg-pack"), [...Array(p.max_pack).keys()].map((i) => [i + 1, `m = ${i + 1}`]), 1);
  $("#pg-steps").max = state.limits.steps;
  $("#pg-loss").addEventListener("change", () => {
    if ($("#pg-loss").value === "wasserstein" && Number($("#pg-gp").value) === 0) $("#pg-gp").value = 10;
  });
  ["#pg-data", "#pg-loss", "#pg-pack", "#pg-gp", "#pg-lr"].forEach((s) => $(s).addEventListener("change", () => pgReset()));
  $("#pg-reset").addEventListener("click", () => pgReset());
  $("#pg-step").addEventListener("click", () => busy($("#pg-step"), pgStep));
  $("#pg-play").addEventListener("click", () => (pg.playing ? pgPause() : pgPlay()));
  window.addEventListener("resize", () => pg.state && pgDraw(pg.state));
}

function playgroundShown() {
  if (!pg.started) { pg.started = true; pgReset(); } else if (pg.state) pgDraw(pg.state);
}

function pgReset() {
  const form = $("#pg-form");
  showError(form, null);
  pg.ready = (async () => {
    try {
      const s = await api("/api/playground/new", { method: "POST", body: {
        dataset: $("#pg-data").value, loss: $("#pg-loss").value, pack: Number($("#pg-pack").value),
        gp: num($("#pg-gp")) ?? 0, lr: num($("#pg-lr")) ?? 0.001 } });
      pg.state = s; pgDraw(s);
      showError(form, null);
      return true;
    } catch (e) { showError(form, e); pgPause(); return false; }
  })();
  return busy($("#pg-reset"), () => pg.ready);
}

async function pgStep() {
  const form = $("#pg-form");
  if (!(await (pg.ready || pgReset()))) return false; // a (re)start still on its way: wait for it
  try {
    const s = await api("/api/playground/step", { method: "POST", body: { steps: num($("#pg-steps")) ?? 20 } });
    pg.state = s; pgDraw(s);
    showError(form, null);
    return true;
  } catch (e) { showError(form, e); pgPause(); return false; }
}

async function pgPlay() {
  pg.playing = true;
  $("#pg-play").innerHTML = "&#10074;&#10074; Pause";
  while (pg.playing && state.page === "playground") {
    if (!(await pgStep())) break;
    await new Promise((r) => requestAnimationFrame(r));
  }
  pgPause();
}

function pgPause() {
  pg.playing = false;
  $("#pg-play").innerHTML = "&#9654; Play";
}

function heatColor(v) { // 1 = D says real (green), 0 = D says fake (purple), 0.5 = white
  const a = [120, 214, 150], m = [250, 250, 252], b = [190, 168, 246];
  const t = Math.max(0, Math.min(1, v));
  const [p, q, u] = t >= 0.5 ? [m, a, (t - 0.5) * 2] : [b, m, t * 2];
  return p.map((c, i) => Math.round(c + (q[i] - c) * u));
}

function pgDraw(s) {
  const canvas = $("#pg-canvas");
  const [ctx, w, h] = fitCanvas(canvas);
  const [lo, hi] = s.view;
  const X = (x) => ((x - lo) / (hi - lo)) * w, Y = (y) => (1 - (y - lo) / (hi - lo)) * h;
  // heat map: n x n cells, smoothed when scaled up
  const n = s.heat.n, img = new ImageData(n, n);
  s.heat.values.forEach((v, i) => { const [r, g, b] = heatColor(v); img.data.set([r, g, b, 255], i * 4); });
  const off = document.createElement("canvas"); off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  // cell centres sit at the grid points: stretch by half a cell beyond each edge
  const cell = w / (n - 1);
  ctx.drawImage(off, -cell / 2, -cell / 2, w + cell, h + cell);
  // axes through the origin
  ctx.strokeStyle = "rgba(0,0,0,.08)"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(X(0), 0); ctx.lineTo(X(0), h); ctx.moveTo(0, Y(0)); ctx.lineTo(w, Y(0)); ctx.stroke();
  const dots = (flat, color, r) => {
    ctx.fillStyle = color;
    for (let i = 0; i < flat.length; i += 2) { ctx.beginPath(); ctx.arc(X(flat[i]), Y(flat[i + 1]), r, 0, 7); ctx.fill(); }
  };
  dots(s.real, "rgba(22,163,74,.75)", 2.3);
  dots(s.fake, "rgba(124,58,237,.8)", 2.3);
  ctx.strokeStyle = "rgba(76,29,149,.75)"; ctx.lineWidth = 1.2;
  for (let i = 0; i < s.arrows.length; i += 4) {
    const [x, y, dx, dy] = s.arrows.slice(i, i + 4);
    const x0 = X(x), y0 = Y(y), x1 = X(x + dx), y1 = Y(y + dy);
    const ang = Math.atan2(y1 - y0, x1 - x0), len = Math.hypot(x1 - x0, y1 - y0);
    if (len < 2) continue;
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
    ctx.lineTo(x1 - 5 * Math.cos(ang - 0.45), y1 - 5 * Math.sin(ang - 0.45));
    ctx.moveTo(x1, y1); ctx.lineTo(x1 - 5 * Math.cos(ang + 0.45), y1 - 5 * Math.sin(ang + 0.45));
    ctx.stroke();
  }
  ctx.fillStyle = "rgba(20,24,39,.7)"; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText(`${s.dataset} · ${s.loss} · m=${s.pack}${s.gp ? " · gp " + s.gp : ""} · step ${s.step}`, 10, 10);
  $("#pg-step-n").textContent = s.step;
  const m = s.metrics || {};
  $("#pg-modes").textContent = m.modes_total ? `${m.modes} / ${m.modes_total}` : "–";
  $("#pg-hq").textContent = m.high_quality != null ? `${fmt(m.high_quality)} %` : "–";
  $("#pg-kl").textContent = fmt(m.reverse_kl ?? null);
  $("#pg-heat-label").textContent = s.heat.scale === "sigmoid" ? "D(x): real ↔ fake (probability)"
    : s.heat.scale === "clamp" ? "D(x): 1 real ↔ 0 fake" : "D(x): high ↔ low (rescaled critic)";
  const hist = s.history;
  lineChart($("#pg-loss-chart"), [
    { name: "loss D", color: "#16a34a", points: hist.step.map((x, i) => [x, hist.d[i]]) },
    { name: "loss G", color: "#7c3aed", points: hist.step.map((x, i) => [x, hist.g[i]]) },
  ]);
}

// ------------------------------------------------------------------ Detect

function initDetect() {
  const d = state.info.detector;
  $("#det-status").hidden = d.available;
  $("#det-status").textContent = d.available ? "" : d.status[0].toUpperCase() + d.status.slice(1) + ". Uploads are still checked.";
  $("#det-which").textContent = d.available ? d.status : "";
  $("#det-file").addEventListener("change", () => detect($("#det-file").files[0]));
}

async function detect(file) {
  const form = $("#det-form");
  showError(form, null);
  if (!file) return;
  if (file.size > state.limits.upload_bytes) {
    return showError(form, `upload: ${file.size.toLocaleString()} bytes is more than the limit of ${state.limits.upload_bytes.toLocaleString()} bytes`);
  }
  try {
    const r = await api("/api/detect", { method: "POST", upload: file });
    $("#det-img").src = URL.createObjectURL(file);
    $("#det-bar").style.left = `calc(${(100 * r.generated).toFixed(1)}% - 2px)`;
    $("#det-text").textContent = `${(100 * r.generated).toFixed(1)} % likely generated → ${r.verdict} (threshold ${r.threshold})`;
    $("#det-result").hidden = false;
    $("#det-empty").hidden = true;
  } catch (e) { showError(form, e); }
}

start().catch((e) => toast("gankit studio could not start: " + e.message));
