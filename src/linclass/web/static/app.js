// linclass playground page. It only draws and sends controls: every score, loss, gradient,
// winning class and step comes from the server, which calls linclass in Python.
"use strict";

const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]; // Okabe–Ito
const SHAPES = ["circle", "square", "triangle", "diamond"];
const POINT_RADIUS = 6.5; // CSS pixels
const HIT_RADIUS = 11;
const STEP_CHUNK_IMAGE = 20;
const RUN_CHUNK_IMAGE = 10;

const $ = (id) => document.getElementById(id);

// --- talking to the server ----------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError("The playground server cannot be reached. Is `linclass playground` still running?", 0);
  }
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON: reported below */ }
  if (!res.ok) throw new ApiError((data && data.error) || `HTTP ${res.status}`, res.status);
  return data;
}

// One request at a time per view, in order: a run loop and a drag never interleave.
function serialQueue() {
  let tail = Promise.resolve();
  return (fn) => {
    const result = tail.then(fn);
    tail = result.catch(() => {});
    return result;
  };
}

function showMessage(el, text, kind = "error") {
  if (!text) { el.hidden = true; el.textContent = ""; return; }
  el.textContent = text;
  el.className = `message ${kind}`;
  el.hidden = false;
}

function fmt(v, digits = 3) {
  if (v === null || v === undefined) return "–";
  if (Math.abs(v) >= 1e4) return v.toExponential(2);
  return v.toFixed(digits);
}

function fillSelect(select, items, value) {
  select.innerHTML = "";
  for (const item of items) {
    const opt = document.createElement("option");
    opt.value = typeof item === "string" ? item : item.name;
    opt.textContent = typeof item === "string" ? item : (item.label || item.name);
    select.appendChild(opt);
  }
  if (value !== undefined) select.value = value;
}

// Size a canvas's backing store to its CSS box and the screen's pixel density; returns a
// context whose units are CSS pixels.
function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  const w = Math.max(1, Math.round(rect.width * dpr));
  const h = Math.max(1, Math.round(rect.height * dpr));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, width: rect.width, height: rect.height };
}

// The legend's marks and the plane's are drawn by the same two functions.
function drawPointMarker(ctx, x, y, r, k, wrong) {
  drawMarker(ctx, x, y, r, k);
  ctx.fillStyle = PALETTE[k]; ctx.fill();
  ctx.lineWidth = wrong ? 2.5 : 1.5;
  ctx.strokeStyle = wrong ? "#1d2430" : "#ffffff";
  ctx.stroke();
}

function drawTestMarker(ctx, x, y, k, wrong) {
  if (wrong) {
    drawMarker(ctx, x, y, POINT_RADIUS + 1.5, k);
    ctx.lineWidth = 2; ctx.strokeStyle = "#1d2430"; ctx.stroke();
  }
  drawMarker(ctx, x, y, POINT_RADIUS - 1, k);
  ctx.fillStyle = "rgba(255,255,255,.85)"; ctx.fill();
  ctx.lineWidth = 2; ctx.strokeStyle = PALETTE[k]; ctx.stroke();
}

function drawMarker(ctx, x, y, r, k) {
  ctx.beginPath();
  switch (SHAPES[k % SHAPES.length]) {
    case "square": ctx.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7); break;
    case "triangle":
      ctx.moveTo(x, y - r * 1.1); ctx.lineTo(x + r, y + r * 0.75); ctx.lineTo(x - r, y + r * 0.75);
      ctx.closePath(); break;
    case "diamond":
      ctx.moveTo(x, y - r * 1.15); ctx.lineTo(x + r * 1.0, y); ctx.lineTo(x, y + r * 1.15);
      ctx.lineTo(x - r * 1.0, y); ctx.closePath(); break;
    default: ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
}

function swatch(k) {
  const c = document.createElement("canvas");
  c.className = "swatch"; c.width = 28; c.height = 28;
  const ctx = c.getContext("2d");
  ctx.fillStyle = PALETTE[k]; ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
  drawMarker(ctx, 14, 14, 10, k); ctx.fill(); ctx.stroke();
  return c;
}

// A small line chart: series share the x axis; "left" series are scaled to their own
// maximum, "right" series to [0, 1] (accuracies).
function drawChart(canvas, xs, series) {
  const { ctx, width, height } = fitCanvas(canvas);
  ctx.clearRect(0, 0, width, height);
  const pad = { l: 42, r: 34, t: 8, b: 20 };
  const w = width - pad.l - pad.r, h = height - pad.t - pad.b;
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#dfe3ea"; ctx.lineWidth = 1;
  ctx.strokeRect(pad.l, pad.t, w, h);
  if (xs.length === 0) {
    ctx.fillStyle = "#5b6575"; ctx.textAlign = "center";
    ctx.fillText("press Step or Run", pad.l + w / 2, pad.t + h / 2);
    return;
  }
  const x0 = xs[0], x1 = Math.max(xs[xs.length - 1], x0 + 1);
  const left = series.filter((s) => s.axis === "left").flatMap((s) => s.values);
  const top = Math.max(1e-9, ...left) * 1.08;
  const sx = (x) => pad.l + ((x - x0) / (x1 - x0)) * w;
  ctx.fillStyle = "#5b6575";
  ctx.textAlign = "right"; ctx.fillText(fmt(top, 2), pad.l - 4, pad.t + 9); ctx.fillText("0", pad.l - 4, pad.t + h);
  ctx.textAlign = "left"; ctx.fillText("100%", pad.l + w + 3, pad.t + 9); ctx.fillText("0%", pad.l + w + 3, pad.t + h);
  ctx.textAlign = "center"; ctx.fillText(`step ${xs[xs.length - 1]}`, pad.l + w / 2, height - 5);
  for (const s of series) {
    const ymax = s.axis === "left" ? top : 1;
    ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const px = sx(xs[i]), py = pad.t + h - (Math.min(v, ymax) / ymax) * h;
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    if (s.values.length === 1) ctx.arc(sx(xs[0]), pad.t + h - (s.values[0] / ymax) * h, 1.5, 0, 7);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

// --- controls built from the option records (/api/options) ------------------------------

const FIELD_LABELS = {
  loss: "Loss", margin: "Margin Δ", penalty: "Regularization", alpha: "Strength λ",
  l1_ratio: "L1 ratio", optimizer: "Optimizer", learning_rate: "Learning rate",
  batch_size: "Batch size", momentum: "Momentum μ",
};
const FIELD_IDS = { learning_rate: "lr", batch_size: "batch" }; // short ids the tests use

function fieldId(field, suffix) {
  const base = FIELD_IDS[field] || field.replaceAll("_", "-");
  return field === "loss" ? `loss-${suffix}-select` : `${base}-${suffix}`;
}

// The family whose chosen name decides whether an owned field applies (margin: loss).
function ownerFamily(field) {
  const fams = plane.options.families;
  for (const fam of ["loss", "penalty", "optimizer"]) {
    if (Object.values(fams[fam]).some((c) => c.params.includes(field))) return fam;
  }
  return null;
}

function fieldApplies(field, config) {
  const rec = plane.options.params[field], fam = ownerFamily(field);
  if (!rec.owned || fam === null) return true;
  return plane.options.families[fam][config[fam]].params.includes(field);
}

// The record's range, checked before anything is sent: null when allowed, else the
// message (in the server's words) naming the field.
function checkField(field, raw) {
  const rec = plane.options.params[field];
  const v = Number(raw);
  const bad = `${field} must be ${plane.options.ranges[field]}, got ${raw === "" ? "nothing" : raw}`;
  if (String(raw).trim() === "" || !Number.isFinite(v)) return `${field} must be a number`;
  if (rec.type === "int" && !Number.isInteger(v)) return `${field} must be an integer, got ${raw}`;
  if (rec.low !== null && (v < rec.low || (rec.low_open && v === rec.low))) return bad;
  if (rec.high !== null && (v > rec.high || (rec.high_open && v === rec.high))) return bad;
  return null;
}

// One row (label + select or number input) per field; `place(field)` picks its container.
function buildControls(view, suffix, place, send, report) {
  const o = plane.options, v = o.views[view];
  for (const field of v.fields) {
    const rec = o.params[field], id = fieldId(field, suffix);
    const label = document.createElement("label");
    label.htmlFor = id;
    const words = field.replaceAll("_", " ");
    label.textContent = FIELD_LABELS[field] || words[0].toUpperCase() + words.slice(1);
    let el;
    if (rec.type === "str") {
      el = document.createElement("select");
      const names = field === "loss" ? v.losses : field === "optimizer" ? v.optimizers : rec.choices;
      fillSelect(el, names.map((n) => ({ name: n, label: (o.loss_labels || {})[n] || n.replaceAll("_", " ") })));
    } else {
      el = document.createElement("input");
      el.type = "number";
      if (rec.low !== null) el.min = String(rec.low);
      if (rec.high !== null) el.max = String(rec.high);
      el.step = rec.type === "int" ? "1" : "any";
    }
    el.id = id; el.dataset.field = field;
    el.title = `${rec.help} (${o.ranges[field]})`;
    label.title = el.title;
    el.value = v.defaults[field];
    el.addEventListener("change", () => {
      let value = el.value;
      if (rec.type !== "str") {
        const problem = checkField(field, el.value);
        el.classList.toggle("invalid", problem !== null);
        if (problem) { report(new Error(problem)); return; }
        value = Number(el.value);
      }
      send({ [field]: value });
    });
    const row = document.createElement("div");
    row.className = "field"; row.dataset.field = field;
    row.append(label, el);
    place(field).appendChild(row);
  }
}

// Show the fields the current choices use (no learning rate for a search), and the values.
function renderControls(root, config) {
  for (const row of root.querySelectorAll(".field")) {
    const field = row.dataset.field, el = row.lastChild;
    row.hidden = !fieldApplies(field, config);
    if (document.activeElement !== el && !el.classList.contains("invalid")) el.value = config[field];
  }
}

// --- 2-D view ------------------------------------------------------------------------------

const plane = {
  sid: null, state: null, options: null, running: false,
  newClass: 0, hover: null, selected: null, drag: null,
  // The page's own copy of the points: edits land here first and are sent from here, so
  // an answer to an older request never undoes a click or a drag still on its way.
  points: { X: [], y: [] },
  pointsDirty: false, syncing: false,
  queue: serialQueue(),
};

async function call2d(path, body) {
  return plane.queue(async () => {
    try {
      const state = await api("POST", `/api/2d/${plane.sid}${path}`, body);
      render2d(state);
      return state;
    } catch (e) {
      if (e.status === 404) { // the server restarted or dropped the session: its link
        // brings the same view back (the curve starts again)
        if (plane.state) await openLink(plane.state.link); else await newSession2d($("preset").value);
        showMessage($("msg-2d"), "The server had forgotten this session, so a fresh one was started.", "warn");
        return plane.state;
      }
      throw e;
    }
  });
}

async function newSession2d(preset) {
  const state = await api("POST", "/api/2d", preset === undefined ? {} : { preset });
  plane.sid = state.session;
  plane.hover = plane.selected = null;
  // Carry the controls the learner already chose over to the new session.
  const s = await api("POST", `/api/2d/${plane.sid}/config`, read2dControls());
  render2d(s);
}

// The controls the learner chose (only valid ones: an invalid box keeps the server's value).
function readControls(root) {
  const out = {};
  for (const el of root.querySelectorAll("[data-field]")) {
    if (el.classList.contains("invalid")) continue;
    out[el.dataset.field] = el.type === "number" ? Number(el.value) : el.value;
  }
  return out;
}
const read2dControls = () => readControls($("view-2d"));

function report2d(e) { showMessage($("msg-2d"), e.message, "error"); stopRun2d(); }

function toScreen(x, y, width, height) {
  const [x0, x1, y0, y1] = plane.state.view;
  return [((x - x0) / (x1 - x0)) * width, ((y1 - y) / (y1 - y0)) * height];
}

function toData(px, py, width, height) {
  const [x0, x1, y0, y1] = plane.state.view;
  const clamp = (v, a, b) => Math.min(b, Math.max(a, v));
  return [clamp(x0 + (px / width) * (x1 - x0), x0, x1), clamp(y1 - (py / height) * (y1 - y0), y0, y1)];
}

// Where the line w1 x + w2 y + b = 0 crosses the view's border: its visible segment.
function clipLine(w1, w2, b, view) {
  const [x0, x1, y0, y1] = view;
  const pts = [];
  const eps = 1e-12;
  if (Math.abs(w2) > eps) for (const x of [x0, x1]) { const y = -(b + w1 * x) / w2; if (y >= y0 && y <= y1) pts.push([x, y]); }
  if (Math.abs(w1) > eps) for (const y of [y0, y1]) { const x = -(b + w2 * y) / w1; if (x >= x0 && x <= x1) pts.push([x, y]); }
  let best = null, far = -1;
  for (let i = 0; i < pts.length; i++) for (let j = i + 1; j < pts.length; j++) {
    const d = Math.hypot(pts[i][0] - pts[j][0], pts[i][1] - pts[j][1]);
    if (d > far) { far = d; best = [pts[i], pts[j]]; }
  }
  return far > 0 ? best : null;
}

const RGB = PALETTE.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
// Tint strength over white of a confidence level: faint at a tie, strong where the model
// is sure (never so strong that the points' colours drown).
const TINT_LOW = 0.03, TINT_HIGH = 0.4;
const tintAlpha = (level, levels) => TINT_LOW + (TINT_HIGH - TINT_LOW) * (level + 0.5) / levels;
const tintOf = (k, alpha) => RGB[k].map((v) => Math.round(255 * (1 - alpha) + v * alpha));

function regionImage(regions) {
  // The server's winning class per grid cell, tinted with the class colour, as strongly
  // as the model is sure of it (its confidence level).
  const c = document.createElement("canvas");
  c.width = regions.nx; c.height = regions.ny;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(regions.nx, regions.ny);
  const L = regions.levels;
  const tint = RGB.map((_, k) => [...Array(L).keys()].map((l) => tintOf(k, tintAlpha(l, L))));
  const runs = regions.runs; // [class, level, count, ...], row-major
  for (let r = 0, i = 0; r < runs.length; r += 3) {
    const [red, g, b] = tint[runs[r]][runs[r + 1]];
    for (const end = i + runs[r + 2]; i < end; i++) {
      img.data[4 * i] = red; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function draw2d() {
  const st = plane.state;
  if (!st) return;
  const canvas = $("plane");
  const { ctx, width, height } = fitCanvas(canvas);
  ctx.clearRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(plane.regionCanvas, 0, 0, width, height);

  // Grid at the integers, axes darker.
  const [x0, x1, y0, y1] = st.view;
  ctx.lineWidth = 1;
  for (let v = Math.ceil(x0); v <= x1; v++) {
    const [px] = toScreen(v, 0, width, height);
    ctx.strokeStyle = v === 0 ? "rgba(29,36,48,.45)" : "rgba(29,36,48,.08)";
    ctx.beginPath(); ctx.moveTo(px, 0); ctx.lineTo(px, height); ctx.stroke();
  }
  for (let v = Math.ceil(y0); v <= y1; v++) {
    const [, py] = toScreen(0, v, width, height);
    ctx.strokeStyle = v === 0 ? "rgba(29,36,48,.45)" : "rgba(29,36,48,.08)";
    ctx.beginPath(); ctx.moveTo(0, py); ctx.lineTo(width, py); ctx.stroke();
  }

  // What a search tried in its last step (candidates, or the population): faint lines.
  ctx.lineWidth = 1;
  ctx.globalAlpha = Math.max(0.12, 0.6 / Math.sqrt(Math.max(1, st.tried.length)));
  const linear = st.features.length === 2; // with extra features the boundaries are curves
  for (const cand of linear ? st.tried : []) {
    cand.W.forEach((w, k) => {
      const seg = clipLine(w[0], w[1], cand.b[k], st.view);
      if (!seg) return;
      const [a, b] = seg.map(([x, y]) => toScreen(x, y, width, height));
      ctx.strokeStyle = PALETTE[k];
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    });
  }
  ctx.globalAlpha = 1;

  // Hyperplanes w_k . x + b_k = 0, each with its normal w_k. The arrows sit at different
  // fractions along their lines (lines through the origin would pile them up in the
  // middle), and their length grows with |w_k|, which is what regularization shrinks.
  st.W.forEach((w, k) => {
    if (!linear) return; // the region colours show the curved boundaries
    const seg = clipLine(w[0], w[1], st.b[k], st.view);
    if (!seg) return;
    const [a, b] = seg.map(([x, y]) => toScreen(x, y, width, height));
    ctx.strokeStyle = PALETTE[k]; ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    const t = (k + 1) / (st.n_classes + 1);
    const mx = a[0] + t * (b[0] - a[0]), my = a[1] + t * (b[1] - a[1]);
    const norm = Math.hypot(w[0], w[1]);
    const len = Math.min(120, Math.max(26, norm * 45));
    const ux = w[0] / norm, uy = -w[1] / norm; // screen y points down
    const tx = mx + ux * len, ty = my + uy * len;
    ctx.beginPath(); ctx.arc(mx, my, 3, 0, 2 * Math.PI); ctx.fillStyle = PALETTE[k]; ctx.fill();
    ctx.beginPath(); ctx.moveTo(mx, my); ctx.lineTo(tx, ty); ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(tx, ty);
    ctx.lineTo(tx - ux * 10 - uy * 5, ty - uy * 10 + ux * 5);
    ctx.lineTo(tx - ux * 10 + uy * 5, ty - uy * 10 - ux * 5);
    ctx.closePath(); ctx.fillStyle = PALETTE[k]; ctx.fill();
    ctx.font = "bold 13px system-ui, sans-serif";
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,.9)";
    ctx.strokeText(`w${k}`, tx + ux * 12, ty + uy * 12);
    ctx.fillText(`w${k}`, tx + ux * 12, ty + uy * 12);
  });

  // Held-out test points: hollow, in their class colour; never trained on. A dark ring
  // around one marks it misclassified, as for the training points.
  st.test_points.X.forEach(([x, y], i) => {
    const [px, py] = toScreen(x, y, width, height);
    drawTestMarker(ctx, px, py, st.test_points.y[i], st.test_predictions[i] !== st.test_points.y[i]);
  });

  // Points: class colour and shape; a dark ring marks the misclassified ones.
  plane.points.X.forEach(([x, y], i) => {
    const k = plane.points.y[i];
    const [px, py] = toScreen(x, y, width, height);
    const r = i === plane.hover || i === plane.selected ? POINT_RADIUS + 2 : POINT_RADIUS;
    drawPointMarker(ctx, px, py, r, k, st.predictions.length > i && st.predictions[i] !== k);
  });
}

function render2d(st) {
  plane.state = st;
  plane.regionCanvas = regionImage(st.regions);
  if (!plane.syncing && plane.drag === null) {
    plane.points = { X: st.points.X.map((p) => p.slice()), y: st.points.y.slice() };
  }
  if (plane.selected !== null && plane.selected >= plane.points.X.length) plane.selected = null;
  if (plane.hover !== null && plane.hover >= plane.points.X.length) plane.hover = null;

  $("step-count-2d").textContent = st.step;
  $("loss-2d").textContent = fmt(st.loss, 4);
  $("loss-2d").dataset.value = st.loss === null ? "" : String(st.loss);
  $("acc-2d").textContent = st.accuracy === null ? "–" : `${(100 * st.accuracy).toFixed(1)}%`;
  $("data-loss-2d").textContent = fmt(st.data_loss, 4);
  $("data-loss-2d").dataset.value = st.data_loss === null ? "" : String(st.data_loss);
  $("reg-loss-2d").textContent = fmt(st.reg_loss, 4);
  $("reg-loss-2d").dataset.value = String(st.reg_loss);
  $("test-acc-2d").textContent = st.test_accuracy === null ? "–" : `${(100 * st.test_accuracy).toFixed(1)}%`;
  $("preset-description").textContent = st.description;
  $("preset").value = st.preset;
  renderControls($("view-2d"), st.config);
  for (const box of document.querySelectorAll("#features-2d input")) box.checked = st.features.includes(box.value);
  buildClassPicker(st.n_classes);
  renderWeights(st);
  renderLegend(st);
  renderDataControls(st);
  renderLink(st);
  renderPointTable(st);
  refreshLandscape();
  renderPointInfo();
  drawChart($("chart-2d"), st.history.map((h) => h.step), [
    { values: st.history.map((h) => h.loss), color: "#0072B2", axis: "left" },
    { values: st.history.map((h) => h.accuracy), color: "#D55E00", axis: "right", dash: [6, 4] },
  ]);
  if (st.diverged || st.message) {
    showMessage($("msg-2d"), st.message, "warn");
    stopRun2d();
  } else if (!$("msg-2d").classList.contains("error")) {
    showMessage($("msg-2d"), null);
  }
  draw2d();
}

// A small canvas of w x h CSS pixels with one mark drawn by `draw(ctx, x, y)` at its
// centre, in CSS pixels (so a legend's mark is the size of the plane's).
function markCanvas(draw, w = 20, h = 20) {
  const c = document.createElement("canvas"), dpr = window.devicePixelRatio || 1;
  c.className = "mark"; c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
  c.style.width = `${w}px`; c.style.height = `${h}px`;
  const ctx = c.getContext("2d");
  ctx.scale(dpr, dpr);
  draw(ctx, w / 2, h / 2);
  return c;
}

function legendItem(id, marks, text) {
  const item = document.createElement("span");
  item.className = "legend-item"; item.id = id;
  const words = document.createElement("span");
  words.textContent = text;
  item.append(...marks, words);
  return item;
}

// What the marks and shades mean, with the counts the page shows right now.
function renderLegend(st) {
  const box = $("legend-2d");
  const wrongTrain = st.predictions.filter((p, i) => p !== st.points.y[i]).length;
  const nTest = st.test_points.y.length;
  const wrongTest = st.test_predictions.filter((p, i) => p !== st.test_points.y[i]).length;
  const L = st.regions.levels;
  const shade = markCanvas((ctx) => {
    for (let l = 0; l < L; l++) {
      const [r, g, b] = tintOf(0, tintAlpha(l, L));
      ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect((l * 72) / L, 0, 72 / L + 0.5, 14);
    }
    ctx.strokeStyle = "#c8ced8"; ctx.strokeRect(0.5, 0.5, 71, 13);
  }, 72, 14);
  const C = st.n_classes;
  const shadeText = st.regions.confidence === "probability"
    ? `shade: the winning class's probability, ${(1 / C).toFixed(2)} (a tie) to 1`
    : `shade: the winning score's lead over the next, 0 at a boundary, full from ${st.has_margin ? `Δ = ${Number(st.config.margin.toPrecision(3))}` : "a lead of 1"}`;
  const classes = document.createElement("span");
  classes.className = "legend-item legend-classes";
  for (let k = 0; k < C; k++) {
    classes.append(markCanvas((ctx, x, y) => drawPointMarker(ctx, x, y, POINT_RADIUS, k, false)), ` ${k} `);
  }
  classes.prepend("class ");
  const wrong = legendItem("legend-wrong", [
    markCanvas((ctx, x, y) => drawPointMarker(ctx, x, y, POINT_RADIUS, 0, true)),
    ...(nTest ? [markCanvas((ctx, x, y) => drawTestMarker(ctx, x, y, 0, true))] : [])],
    `misclassified (dark ring): ${wrongTrain} of ${st.points.y.length} training` +
    (nTest ? `, ${wrongTest} of ${nTest} held out` : ""));
  wrong.dataset.train = String(wrongTrain); wrong.dataset.test = String(wrongTest);
  const held = legendItem("legend-test",
    [markCanvas((ctx, x, y) => drawTestMarker(ctx, x, y, 0, false))],
    `held out (hollow): ${nTest} test points, never trained on`);
  held.dataset.count = String(nTest);
  const shadeItem = legendItem("legend-shade", [shade], shadeText);
  shadeItem.dataset.kind = st.regions.confidence;
  box.replaceChildren(classes, wrong, held, shadeItem);
}

function renderPointTable(st) {
  const table = $("point-table"), C = st.n_classes, margins = st.margins !== null;
  const head = ["#", "class", ...[...Array(C).keys()].map((k) => `s${k}`),
    ...(margins ? [...Array(C).keys()].map((k) => `m${k}`) : []), "Lᵢ"];
  if (table.dataset.head !== head.join()) {
    table.dataset.head = head.join();
    table.tHead.innerHTML = "";
    const tr = table.tHead.insertRow();
    for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); }
  }
  const body = table.tBodies[0];
  while (body.rows.length > st.point_losses.length) body.deleteRow(-1);
  while (body.rows.length < st.point_losses.length) {
    const tr = body.insertRow();
    for (let j = 0; j < head.length; j++) tr.insertCell();
  }
  st.point_losses.forEach((L, i) => {
    const tr = body.rows[i], y = st.points.y[i];
    const cells = [String(i), String(y), ...st.scores[i].map((v) => fmt(v, 2)),
      ...(margins ? st.margins[i].map((m, k) => (k === y ? "·" : fmt(m, 2))) : []), fmt(L, 3)];
    if (tr.cells.length !== cells.length) { tr.innerHTML = ""; cells.forEach(() => tr.insertCell()); }
    cells.forEach((c, j) => { tr.cells[j].textContent = c; });
    tr.cells[0].replaceChildren(swatch(y), ` ${i}`);
    tr.classList.toggle("wrong", st.predictions[i] !== y);
    tr.classList.toggle("hover", i === plane.hover || i === plane.selected);
    if (margins) st.margins[i].forEach((m, k) => tr.cells[2 + C + k].classList.toggle("positive", k !== y && m > 0));
  });
}

// The landscape is fetched only while its panel is open, at most one request at a time.
const landscape = { busy: false, dirty: false };

function refreshLandscape() {
  if (!$("landscape-panel").open || !plane.state || plane.state.loss === null) return;
  landscape.dirty = true;
  if (landscape.busy) return;
  landscape.busy = true;
  (async () => {
    try {
      while (landscape.dirty) {
        landscape.dirty = false;
        drawLandscape(await api("GET", `/api/2d/${plane.sid}/landscape?n=41`));
      }
    } catch (e) { report2d(e); } finally { landscape.busy = false; }
  })();
}

function drawLandscape(L) {
  const canvas = $("landscape");
  canvas.dataset.step = String(L.step);
  const { ctx, width, height } = fitCanvas(canvas);
  const n = L.a.length, span = L.a[n - 1];
  const cells = document.createElement("canvas");
  cells.width = n; cells.height = n;
  const g = cells.getContext("2d"), img = g.createImageData(n, n);
  const range = Math.max(L.max - L.min, 1e-12);
  L.loss.forEach((row, i) => row.forEach((v, j) => {
    const k = 4 * ((n - 1 - i) * n + j); // row 0 of the image is the largest b
    img.data.set(landscapeColour(Math.sqrt((v - L.min) / range)).concat(255), k);
  }));
  g.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(cells, 0, 0, width, height);
  const px = ([a, b]) => [((a + span) / (2 * span)) * width, ((span - b) / (2 * span)) * height];
  ctx.strokeStyle = "#1d2430"; ctx.lineWidth = 1.5;
  ctx.beginPath();
  L.path.forEach((p, i) => { const [x, y] = px(p); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
  ctx.stroke();
  ctx.fillStyle = "#1d2430";
  for (const p of L.path.slice(0, -1)) { const [x, y] = px(p); ctx.fillRect(x - 1.5, y - 1.5, 3, 3); }
  const [cx, cy] = px([0, 0]);
  ctx.beginPath(); ctx.arc(cx, cy, 5, 0, 2 * Math.PI); ctx.fillStyle = "#D55E00"; ctx.fill();
  ctx.font = "12px system-ui, sans-serif"; ctx.fillStyle = "#1d2430";
  ctx.fillText(`d₁ ∈ [±${span.toPrecision(2)}]  ·  loss ${L.min.toPrecision(3)} – ${L.max.toPrecision(3)}`, 8, height - 8);
  drawColourBar($("landscape-scale"), L.min, L.max, height);
}

// The landscape's shade of a loss at t = sqrt((loss - min) / (max - min)) in [0, 1]: low
// loss light, high loss dark blue; alternate bands of a tenth read as contour lines.
function landscapeColour(t) {
  const band = Math.floor(Math.min(t, 0.9999) * 10) % 2 ? 0.93 : 1;
  return [247 - 200 * t, 251 - 150 * t, 255 - 80 * t].map((c) => Math.round(c * band));
}

// The colour scale beside the landscape: the same shades, bottom (lowest loss) to top,
// with the loss each tick stands for (the square root spreads the low losses out).
function drawColourBar(canvas, lo, hi, height) {
  canvas.style.height = `${height}px`;
  const { ctx, width } = fitCanvas(canvas);
  canvas.dataset.min = String(lo); canvas.dataset.max = String(hi);
  ctx.clearRect(0, 0, width, height);
  const pad = 8, barW = 14, h = height - 2 * pad;
  for (let y = 0; y < h; y++) {
    const [r, g, b] = landscapeColour(1 - y / (h - 1));
    ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect(0, pad + y, barW, 1.5);
  }
  ctx.strokeStyle = "#c8ced8"; ctx.lineWidth = 1; ctx.strokeRect(0.5, pad + 0.5, barW - 1, h - 1);
  ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#1d2430";
  ctx.textAlign = "left"; ctx.textBaseline = "middle";
  const ticks = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const y = pad + (1 - t) * (h - 1), v = lo + (hi - lo) * t * t;
    ctx.beginPath(); ctx.moveTo(barW, y); ctx.lineTo(barW + 4, y); ctx.stroke();
    ctx.fillText(v.toPrecision(3), barW + 6, y);
    ticks.push(v);
  }
  canvas.dataset.ticks = JSON.stringify(ticks);
}

function buildClassPicker(n) {
  const picker = $("class-picker");
  if (picker.childElementCount === n) return;
  picker.innerHTML = "";
  plane.newClass = Math.min(plane.newClass, n - 1);
  for (let k = 0; k < n; k++) {
    const b = document.createElement("button");
    b.type = "button"; b.setAttribute("role", "radio"); b.dataset.k = k;
    b.setAttribute("aria-checked", String(k === plane.newClass));
    b.append(swatch(k), `class ${k}`);
    b.addEventListener("click", () => {
      plane.newClass = k;
      for (const o of picker.children) o.setAttribute("aria-checked", String(o === b));
    });
    picker.appendChild(b);
  }
}

// Input ids: w1-k, w2-k (x1, x2), w3-k ... for the extra features, b-k.
const weightIds = (features) => [...features.map((_, j) => `w${j + 1}`), "b"];

// A header cell of two lines: the entry's name (and the feature it multiplies), and in
// grey the name of its gradient.
function weightHead(name, feature, grad) {
  const th = document.createElement("th");
  const top = document.createElement("span"); top.className = "entry"; top.textContent = name;
  th.append(top);
  if (feature) { const f = document.createElement("span"); f.className = "feature"; f.textContent = `× ${feature}`; th.append(" ", f); }
  const g = document.createElement("span"); g.className = "grad"; g.textContent = grad;
  th.append(g);
  return th;
}

function renderWeights(st) {
  const table = $("weights");
  table.dataset.w = JSON.stringify(st.W);
  table.dataset.b = JSON.stringify(st.b);
  table.dataset.dw = JSON.stringify(st.dW);
  const ids = weightIds(st.features), D = st.features.length;
  const layout = `${st.n_classes}|${st.features.join()}`;
  const body = table.tBodies[0];
  if (table.dataset.layout !== layout) {
    table.dataset.layout = layout;
    const head = table.tHead.rows[0];
    const k = document.createElement("th"); k.textContent = "class k";
    head.replaceChildren(k, ...st.features.map((f, j) => weightHead(`W[k,${j}]`, f, `∂L/∂W[k,${j}]`)),
      weightHead("b[k]", null, "∂L/∂b[k]"));
    body.innerHTML = "";
    for (let k = 0; k < st.n_classes; k++) {
      const tr = body.insertRow();
      const name = tr.insertCell();
      name.append(swatch(k), ` ${k}`);
      ids.forEach((field, j) => {
        const input = document.createElement("input");
        input.type = "number"; input.step = "0.1"; input.id = `${field}-${k}`;
        input.setAttribute("aria-label", j < D ? `W[${k},${j}]` : `b[${k}]`);
        input.addEventListener("input", onWeightInput);
        const grad = document.createElement("div");
        grad.className = "grad"; grad.id = `d${field}-${k}`;
        const cell = tr.insertCell();
        cell.append(input, grad);
      });
    }
  }
  for (let k = 0; k < st.n_classes; k++) {
    const tr = body.rows[k];
    const vals = [...st.W[k], st.b[k]];
    const grads = [...st.dW[k], st.db[k]];
    for (let j = 0; j <= D; j++) {
      const input = tr.cells[1 + j].firstChild;
      if (document.activeElement !== input) {
        input.value = Number(vals[j].toFixed(4));
        input.classList.remove("invalid");
      }
      const g = Math.abs(grads[j]) < 5e-4 ? 0 : grads[j]; // no "-0.000"
      tr.cells[1 + j].lastChild.textContent = `∂ ${g > 0 ? "+" : g < 0 ? "" : " "}${fmt(g, 3)}`;
    }
  }
  markOverflow($("weights-scroll"), $("weights-hint"));
}

// A box whose content is wider than itself scrolls sideways; say so (a shadow at the
// edge, `data-overflow`), since some systems hide scroll bars until touched.
function markOverflow(box, hint) {
  const over = box.scrollWidth > box.clientWidth + 1;
  box.classList.toggle("overflowing", over);
  box.dataset.overflow = String(over);
  hint.hidden = !over;
}

const WEIGHT_LIMIT = 1e6; // the server's bound on a hand-set weight
let weightTimer = null;
function onWeightInput() {
  clearTimeout(weightTimer);
  weightTimer = setTimeout(() => {
    const body = $("weights").tBodies[0];
    const W = [], b = [];
    const problems = [];
    const D = plane.state.features.length;
    for (const tr of body.rows) {
      const v = [...Array(D + 1).keys()].map((j) => tr.cells[1 + j].firstChild);
      for (const input of v) {
        const x = Number(input.value);
        const bad = input.value.trim() === "" || !Number.isFinite(x) || Math.abs(x) > WEIGHT_LIMIT;
        input.classList.toggle("invalid", bad);
        if (bad) problems.push(`${input.getAttribute("aria-label")} must be a number in [-${WEIGHT_LIMIT}, ${WEIGHT_LIMIT}], got ${input.value.trim() === "" ? "nothing" : input.value}`);
      }
      W.push(v.slice(0, D).map((input) => Number(input.value))); b.push(Number(v[D].value));
    }
    if (problems.length) { showMessage($("msg-2d"), problems.join("; "), "error"); return; }
    if ($("msg-2d").classList.contains("error")) showMessage($("msg-2d"), null);
    call2d("/params", { W, b }).catch(report2d);
  }, 60);
}

function renderPointInfo() {
  const st = plane.state;
  const i = plane.hover !== null ? plane.hover : plane.selected;
  const out = $("point-loss");
  if (i === null || !st || i >= st.point_losses.length || i >= plane.points.X.length) {
    $("point-text").textContent = "Hover or drag a point to see its own loss Lᵢ.";
    out.textContent = "–"; out.dataset.value = ""; out.dataset.index = "";
    return;
  }
  const [x, y] = plane.points.X[i], k = plane.points.y[i], pred = st.predictions[i];
  $("point-text").textContent =
    `#${i} · class ${k} at (${x.toFixed(2)}, ${y.toFixed(2)}) · scores [${st.scores[i].map((s) => s.toFixed(2)).join(", ")}]` +
    ` · predicted ${pred} ${pred === k ? "✓" : "✗"}`;
  out.textContent = fmt(st.point_losses[i], 4);
  out.dataset.value = String(st.point_losses[i]);
  out.dataset.index = String(i);
}

function updateTooltip(px, py) {
  const tip = $("tooltip"), st = plane.state, i = plane.hover;
  if (i === null || i >= st.point_losses.length) { tip.hidden = true; return; }
  tip.innerHTML = "";
  const k = plane.points.y[i];
  tip.append(`class ${k} · Lᵢ = ${fmt(st.point_losses[i], 3)}`, document.createElement("br"),
    `scores ${st.scores[i].map((s) => s.toFixed(2)).join(", ")}`);
  tip.style.left = `${px}px`; tip.style.top = `${py}px`;
  tip.hidden = false;
}

function pointAt(px, py) {
  const { width, height } = $("plane").getBoundingClientRect();
  let best = null, bestD = HIT_RADIUS;
  plane.points.X.forEach(([x, y], i) => {
    const [sx, sy] = toScreen(x, y, width, height);
    const d = Math.hypot(sx - px, sy - py);
    if (d <= bestD) { bestD = d; best = i; }
  });
  return best;
}

// Dragging sends the whole point list, but never more than one request at a time: the
// latest positions go out as soon as the previous answer is back.
function syncPoints() {
  plane.pointsDirty = true;
  if (plane.syncing) return;
  plane.syncing = true;
  (async () => {
    try {
      while (plane.pointsDirty) {
        plane.pointsDirty = false;
        const { X, y } = plane.points;
        // float32 coordinates, so that a shared link (which stores float32) loses nothing
        await call2d("/points", { X: X.map((p) => p.map(Math.fround)), y: y.slice() });
      }
    } catch (e) { report2d(e); } finally { plane.syncing = false; }
  })();
}

function setupPlaneEvents() {
  const canvas = $("plane");
  const local = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top, r]; };
  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  canvas.addEventListener("pointerdown", (e) => {
    if (!plane.state) return;
    const [px, py, r] = local(e);
    const hit = pointAt(px, py);
    const pts = plane.points;
    if (hit !== null && (e.shiftKey || e.button === 2)) {
      pts.X.splice(hit, 1); pts.y.splice(hit, 1);
      plane.hover = plane.selected = null;
      syncPoints(); draw2d(); return;
    }
    if (e.button !== 0) return;
    if (hit !== null) {
      plane.drag = hit; plane.selected = hit;
    } else {
      if (pts.X.length >= plane.options.limits.max_points) {
        showMessage($("msg-2d"), `At most ${plane.options.limits.max_points} points.`, "warn"); return;
      }
      pts.X.push(toData(px, py, r.width, r.height)); pts.y.push(plane.newClass);
      plane.selected = plane.drag = pts.X.length - 1;
      syncPoints();
    }
    canvas.setPointerCapture(e.pointerId);
    canvas.classList.add("dragging");
    draw2d();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!plane.state) return;
    const [px, py, r] = local(e);
    if (plane.drag !== null) {
      plane.points.X[plane.drag] = toData(px, py, r.width, r.height);
      plane.hover = plane.drag;
      syncPoints(); draw2d(); updateTooltip(px, py); return;
    }
    const hit = pointAt(px, py);
    canvas.classList.toggle("over-point", hit !== null);
    if (hit !== plane.hover) { plane.hover = hit; draw2d(); renderPointInfo(); }
    updateTooltip(px, py);
  });
  const end = () => {
    if (plane.drag === null) return;
    plane.drag = null; canvas.classList.remove("dragging");
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", () => {
    if (plane.drag !== null) return;
    plane.hover = null; $("tooltip").hidden = true; draw2d(); renderPointInfo();
  });
}

async function runLoop2d() {
  while (plane.running) {
    try {
      const st = await call2d("/step", { steps: Number($("speed-2d").value) });
      if (st.diverged || st.message) break;
    } catch (e) { report2d(e); break; }
    await new Promise((r) => requestAnimationFrame(r));
  }
  stopRun2d();
}

function stopRun2d() {
  plane.running = false;
  $("run-2d").textContent = "Run"; $("run-2d").classList.remove("running");
}

// --- data sliders and the shared link -------------------------------------------------------

const SLIDERS = [
  ["noise-2d", "noise", (v) => Number(v).toFixed(2)],
  ["test-fraction-2d", "test_fraction", (v) => `${Math.round(100 * Number(v))}%`],
];

function renderDataControls(st) {
  $("seed-2d").textContent = `seed ${st.seed}`;
  $("seed-2d").dataset.value = String(st.seed);
  for (const [id, key, show] of SLIDERS) {
    if (plane.sliding !== id) $(id).value = String(st[key]);
    $(id).dataset.value = String(st[key]);
    $(`${id}-value`).textContent = show($(id).value);
  }
}

function setupSliders() {
  const lim = plane.options.limits;
  $("noise-2d").max = String(lim.max_noise);
  $("test-fraction-2d").max = String(lim.max_test_fraction);
  for (const [id, , show] of SLIDERS) {
    $(id).addEventListener("input", () => { plane.sliding = id; $(`${id}-value`).textContent = show($(id).value); });
    $(id).addEventListener("change", () => {
      plane.sliding = null;
      stopRun2d(); plane.hover = plane.selected = null;
      showMessage($("msg-2d"), null);
      call2d("/reset", { noise: Number($("noise-2d").value),
        test_fraction: Number($("test-fraction-2d").value) }).catch(report2d);
    });
  }
}

// The address follows the view (history.replaceState: no new history entry per step), at
// most every LINK_EVERY_MS, since browsers throttle frequent history updates.
const LINK_EVERY_MS = 300;
const link = { timer: null, latest: null };

const shareUrl = (fragment) => `${location.origin}${location.pathname}#${fragment}`;

function renderLink(st) {
  $("share-link").value = shareUrl(st.link);
  $("share-link").dataset.length = String(st.link.length);
  link.latest = st.link;
  if (link.timer !== null) return;
  link.timer = setTimeout(() => {
    link.timer = null;
    if (location.hash.slice(1) !== link.latest) history.replaceState(null, "", `#${link.latest}`);
  }, LINK_EVERY_MS);
}

// Open the view a link describes. A link that is too long or malformed never breaks the
// page: it says why, and the default view opens instead.
async function openLink(fragment) {
  const max = plane.options.limits.max_link_chars;
  try {
    if (fragment.length > max) {
      throw new ApiError(`this link cannot be opened: the link is too long: ${fragment.length} characters, at most ${max}`, 413);
    }
    const state = await api("POST", "/api/2d", { link: fragment });
    plane.sid = state.session;
    plane.hover = plane.selected = null;
    render2d(state);
    showMessage($("msg-2d"), null);
  } catch (e) {
    if (e.status === 0) throw e; // no server: nothing else would open either
    await newSession2d(undefined);
    showMessage($("msg-2d"), `${e.message[0].toUpperCase()}${e.message.slice(1)}. The default view is shown instead.`, "error");
  }
}

async function copyLink() {
  const input = $("share-link"), n = input.dataset.length;
  try {
    await navigator.clipboard.writeText(input.value);
    $("link-note").textContent = `Link copied (${n} characters after #).`;
  } catch (e) { // no clipboard permission (an insecure origin, a test browser): select it
    input.focus(); input.select();
    $("link-note").textContent = `Select and copy the link above (${n} characters after #).`;
  }
}

function setupControls2d() {
  const o = plane.options;
  fillSelect($("preset"), o.presets.map((p) => p.name));
  for (const opt of $("preset").options) opt.textContent = opt.value.replace("_", " ");
  const fields = o.views["2d"].fields;
  buildControls("2d", "2d",
    (f) => $(fields.indexOf(f) < fields.indexOf("optimizer") ? "objective-2d" : "optimization-2d"),
    (change) => { showMessage($("msg-2d"), null); call2d("/config", change).catch(report2d); },
    report2d);
  for (const name of o.extra_features) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = name; box.dataset.feature = name;
    box.addEventListener("change", () => {
      const extras = [...document.querySelectorAll("#features-2d input:checked")].map((x) => x.value);
      call2d("/features", { extras }).catch(report2d);
    });
    label.append(box, ` ${name}`);
    $("features-2d").appendChild(label);
  }
  $("landscape-panel").addEventListener("toggle", refreshLandscape);
  setupSliders();
  $("copy-link").addEventListener("click", copyLink);
  window.addEventListener("hashchange", () => { // a link pasted into this tab's address bar
    const fragment = location.hash.slice(1);
    if (fragment && plane.state && fragment !== plane.state.link) {
      stopRun2d();
      plane.queue(() => openLink(fragment)).catch(report2d);
    }
  });
  $("preset").addEventListener("change", () => {
    plane.hover = plane.selected = null;
    showMessage($("msg-2d"), null);
    call2d("/reset", { preset: $("preset").value }).catch(report2d);
  });
  $("reset-2d").addEventListener("click", () => {
    stopRun2d(); plane.hover = plane.selected = null;
    showMessage($("msg-2d"), null);
    call2d("/reset", { preset: $("preset").value }).catch(report2d);
  });
  $("redraw-2d").addEventListener("click", () => {
    stopRun2d(); plane.hover = plane.selected = null;
    showMessage($("msg-2d"), null);
    const seed = (plane.state ? plane.state.seed + 1 : 1) % 2 ** 31;
    call2d("/reset", { seed }).catch(report2d);
  });
  $("step-2d").addEventListener("click", () => {
    showMessage($("msg-2d"), null);
    call2d("/step", { steps: 1 }).catch(report2d);
  });
  $("run-2d").addEventListener("click", () => {
    if (plane.running) { stopRun2d(); return; }
    showMessage($("msg-2d"), null);
    plane.running = true;
    $("run-2d").textContent = "Pause"; $("run-2d").classList.add("running");
    runLoop2d();
  });
}

// --- image view ----------------------------------------------------------------------------

const images = {
  sid: null, state: null, running: false, selected: null,
  queue: serialQueue(), started: false,
};

// Diverging blue – white – orange, sampled at 256 levels (0 = most negative weight).
const DIVERGING = (() => {
  const stops = [[33, 102, 172], [247, 247, 247], [179, 88, 6]];
  const lut = [];
  for (let i = 0; i < 256; i++) {
    const t = i / 255, [a, b, u] = t < 0.5 ? [stops[0], stops[1], t * 2] : [stops[1], stops[2], t * 2 - 1];
    lut.push(a.map((v, j) => Math.round(v + (b[j] - v) * u)));
  }
  return lut;
})();

function paintImage(canvas, pixels, shape, lut) {
  const [h, w] = shape;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  pixels.forEach((v, i) => {
    const [r, g, b] = lut ? lut[v] : [v, v, v];
    img.data.set([r, g, b, 255], 4 * i);
  });
  ctx.putImageData(img, 0, 0);
}

const readImageControls = () => readControls($("controls-image"));

function reportImage(e) { showMessage($("msg-image"), e.message, "error"); stopRunImage(); }

async function createImageSession() {
  // The first load of a dataset reads and prepares it on the server (seconds for 60,000
  // Fashion-MNIST images); say so rather than look frozen.
  showMessage($("msg-image"), `Loading ${$("dataset").value} …`, "info");
  const st = await api("POST", "/api/image", { dataset: $("dataset").value, ...readImageControls() });
  images.sid = st.session;
  images.selected = null;
  clearGrid(); // a new session has no grid
  $("explain").hidden = true;
  showMessage($("msg-image"), null);
  buildGallery(st);
  renderImage(st);
  return st;
}

const newSessionImage = () => images.queue(createImageSession);

async function callImage(method, path, body) {
  return images.queue(async () => {
    try {
      const st = await api(method, `/api/image/${images.sid}${path}`, body);
      renderImage(st);
      if (images.selected !== null) await explain(images.selected, false);
      return st;
    } catch (e) {
      if (e.status === 404) { // the server restarted or dropped the run: start again
        const st = await createImageSession();
        showMessage($("msg-image"), "The server had forgotten this training run, so a fresh one was started.", "warn");
        return st;
      }
      throw e;
    }
  });
}

function renderImage(st) {
  images.state = st;
  const last = st.history.length ? st.history[st.history.length - 1] : null;
  $("step-count-image").textContent = st.step;
  $("epoch-image").textContent = st.epoch;
  $("loss-image").textContent = last ? fmt(last.train_loss, 4) : "–";
  $("loss-image").dataset.value = last ? String(last.train_loss) : "";
  $("train-acc-image").textContent = last ? `${(100 * last.train_accuracy).toFixed(1)}%` : "–";
  $("test-acc-image").textContent = last ? `${(100 * last.test_accuracy).toFixed(1)}%` : "–";
  renderControls($("controls-image"), st.config);

  const box = $("templates");
  if (box.dataset.names !== st.class_names.join("\n")) { // a new dataset: new captions
    box.dataset.names = st.class_names.join("\n");
    box.innerHTML = "";
    st.class_names.forEach((name, k) => {
      const fig = document.createElement("figure");
      fig.className = "template"; fig.style.margin = "0";
      const c = document.createElement("canvas");
      c.id = `template-${k}`;
      c.setAttribute("aria-label", `template of class ${name}`);
      const cap = document.createElement("figcaption");
      cap.textContent = name;
      fig.append(c, cap);
      box.appendChild(fig);
    });
  }
  st.templates.pixels.forEach((px, k) => paintImage($(`template-${k}`), px, st.image_shape, DIVERGING));
  box.dataset.step = String(st.step);

  const preds = st.gallery.predictions;
  [...$("gallery").children].forEach((b, i) => {
    const label = st.class_names[st.gallery.labels[i]], pred = st.class_names[preds[i]];
    const ok = preds[i] === st.gallery.labels[i];
    b.classList.toggle("wrong", !ok);
    b.dataset.label = label; b.dataset.predicted = pred;
    // Right: the class with a tick. Wrong: the true class, then what the model said.
    const verdict = b.querySelector(".verdict");
    if (ok) verdict.replaceChildren(`✓ ${label}`);
    else {
      const truth = document.createElement("span"); truth.className = "truth"; truth.textContent = label;
      const said = document.createElement("span"); said.className = "said"; said.textContent = `✗ ${pred}`;
      verdict.replaceChildren(truth, said);
    }
    b.title = `label ${label}, predicted ${pred}`;
  });

  const xs = st.history.map((h) => h.step);
  drawChart($("chart-image"), xs, [
    { values: st.history.map((h) => h.train_loss), color: "#0072B2", axis: "left" },
    { values: st.history.map((h) => h.train_accuracy), color: "#D55E00", axis: "right", dash: [6, 4] },
    { values: st.history.map((h) => h.test_accuracy), color: "#009E73", axis: "right", dash: [2, 3] },
  ]);
  if (st.diverged) { showMessage($("msg-image"), st.message, "warn"); stopRunImage(); }
}

function buildGallery(st) {
  const box = $("gallery");
  box.innerHTML = "";
  st.gallery.indices.forEach((index, i) => {
    const b = document.createElement("button");
    b.type = "button"; b.dataset.index = index;
    const c = document.createElement("canvas");
    paintImage(c, st.gallery.images[i], st.image_shape, null);
    const v = document.createElement("span"); v.className = "verdict";
    b.append(c, v);
    b.addEventListener("click", () => {
      images.selected = index;
      for (const o of box.children) o.classList.toggle("selected", o === b);
      images.queue(() => explain(index, true)).catch(reportImage);
    });
    box.appendChild(b);
  });
}

async function explain(index, scroll) {
  const ex = await api("GET", `/api/image/${images.sid}/explain/${index}`);
  const panel = $("explain");
  panel.hidden = false;
  $("explain-title").textContent =
    `test image #${index}: label ${ex.label_name}, predicted ${ex.class_names[ex.predicted]} · ${ex.loss} loss Lᵢ = ${ex.total.toFixed(4)}`;
  paintImage($("explain-image"), ex.image, ex.image_shape, null);
  const body = $("explain-table").tBodies[0];
  const probs = ex.probabilities || null; // none for a hinge loss
  for (const th of $("explain-table").querySelectorAll("th.prob")) th.hidden = probs === null;
  body.innerHTML = "";
  ex.class_names.forEach((name, k) => {
    const tr = body.insertRow();
    tr.classList.toggle("correct", k === ex.label);
    tr.classList.toggle("predicted", k === ex.predicted);
    tr.insertCell().textContent = name;
    tr.insertCell().textContent = ex.scores[k].toFixed(2);
    if (probs !== null) {
      tr.insertCell().textContent = probs[k].toFixed(3);
      const bar = tr.insertCell(); bar.className = "bar";
      const span = document.createElement("span");
      span.style.width = `${(100 * probs[k]).toFixed(1)}%`;
      bar.appendChild(span);
    }
    const notes = [k === ex.label ? "label" : "", k === ex.predicted ? "predicted" : ""];
    tr.insertCell().textContent = notes.filter(Boolean).join(", ");
  });
  const c = ex.contributions;
  for (const [id, k, what] of [["contrib-label", ex.label, "label"], ["contrib-pred", ex.predicted, "predicted"]]) {
    paintImage($(id), c.pixels[k], ex.image_shape, DIVERGING);
    $(`${id}-cap`).textContent = `w ⊙ x for ${ex.class_names[k]} (${what}) · max |wᵢxᵢ| ${c.scale[k].toPrecision(2)}`;
  }
  $("explain-steps").textContent = ex.lines.join("\n");
  if (scroll) panel.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

async function runLoopImage() {
  while (images.running) {
    try {
      const st = await callImage("POST", "/step", { steps: RUN_CHUNK_IMAGE });
      if (st.diverged) break;
    } catch (e) { reportImage(e); break; }
    await new Promise((r) => requestAnimationFrame(r));
  }
  stopRunImage();
}

function stopRunImage() {
  images.running = false;
  $("run-image").textContent = "Run"; $("run-image").classList.remove("running");
}

function setupControlsImage() {
  const o = plane.options;
  fillSelect($("dataset"), o.datasets);
  buildControls("image", "image", () => $("controls-image"),
    (change) => { showMessage($("msg-image"), null); callImage("POST", "/config", change).catch(reportImage); },
    reportImage);
  $("dataset").addEventListener("change", () => { stopRunImage(); newSessionImage().catch(reportImage); });
  $("new-image").addEventListener("click", () => { stopRunImage(); newSessionImage().catch(reportImage); });
  $("step-image").textContent = `Train ${STEP_CHUNK_IMAGE} steps`;
  $("step-image").addEventListener("click", () => {
    callImage("POST", "/step", { steps: STEP_CHUNK_IMAGE }).catch(reportImage);
  });
  $("run-image").addEventListener("click", () => {
    if (images.running) { stopRunImage(); return; }
    images.running = true;
    $("run-image").textContent = "Pause"; $("run-image").classList.add("running");
    runLoopImage();
  });
}

// --- the image view's grid: learning rate x alpha as stacked heads ------------------------

// loaded: the cell whose head is the image view's model now ({lr, alpha}), or null
const grid = { state: null, running: false, loaded: null };

// matplotlib's viridis (what `linclass search` draws its heat map with), 9 stops.
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];

function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const u = x - i, [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  return `rgb(${a.map((v, j) => Math.round(v + (b[j] - v) * u)).join(",")})`;
}

// "0.01, 0.1,1" -> [0.01, 0.1, 1]; a word that is no number is sent as it is, so the
// server's message names it (every check is the server's).
function parseList(text) {
  return text.split(",").map((w) => w.trim()).filter((w) => w !== "")
    .map((w) => (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(w) ? Number(w) : w));
}

const gnum = (v) => (v === 0 ? "0" : Number(v.toPrecision(3)).toString());

function renderGrid(g) {
  grid.state = g;
  const map = $("grid-map");
  map.dataset.epoch = String(g.epoch);
  map.dataset.done = String(g.done);
  map.innerHTML = "";
  const nA = g.alpha.length, nL = g.lr.length;
  map.style.gridTemplateColumns = `auto auto repeat(${nL}, minmax(3.4rem, 6.5rem))`;
  const values = g.accuracy.flat().filter((v) => v !== null);
  const lo = values.length ? Math.min(...values) : 0, hi = values.length ? Math.max(...values) : 1;
  const add = (cls, text, style = {}) => {
    const d = document.createElement("div");
    d.className = cls; d.textContent = text; Object.assign(d.style, style);
    map.appendChild(d); return d;
  };
  add("axis-name y-name", "alpha", { gridRow: `1 / span ${nA}`, gridColumn: "1" });
  // largest alpha on top, as the CLI's heat map (origin lower)
  for (let r = 0; r < nA; r++) {
    const i = nA - 1 - r;
    add("tick y-tick", gnum(g.alpha[i]), { gridRow: String(r + 1), gridColumn: "2" });
    for (let j = 0; j < nL; j++) {
      const v = g.accuracy[i][j], why = g.dropped[i][j];
      const best = g.best && g.best.alpha_index === i && g.best.lr_index === j;
      const cell = add("cell", "", { gridRow: String(r + 1), gridColumn: String(j + 3) });
      cell.dataset.lr = String(g.lr[j]); cell.dataset.alpha = String(g.alpha[i]);
      cell.dataset.value = v === null ? "" : String(v);
      cell.setAttribute("role", "button");
      cell.tabIndex = why || v === null ? -1 : 0;
      const setting = `lr ${gnum(g.lr[j])}, alpha ${gnum(g.alpha[i])}`;
      if (why) {
        cell.classList.add("dropped");
        cell.dataset.dropped = why;
        cell.append(Object.assign(document.createElement("span"), { className: "value", textContent: "×" }),
          Object.assign(document.createElement("span"), { className: "tag", textContent: "diverged" }));
        cell.title = `${setting}: ${why}`;
      } else if (v === null) {
        cell.classList.add("pending");
        cell.append(Object.assign(document.createElement("span"), { className: "value", textContent: "…" }));
        cell.title = `${setting}: training`;
      } else {
        const t = hi > lo ? (v - lo) / (hi - lo) : 1;
        cell.style.background = viridis(t);
        cell.style.color = t > 0.6 ? "#000" : "#fff";
        cell.append(Object.assign(document.createElement("span"), { className: "value", textContent: v.toFixed(3) }));
        const inUse = grid.loaded && grid.loaded.lr === g.lr[j] && grid.loaded.alpha === g.alpha[i];
        if (best) cell.classList.add("best");
        if (inUse) cell.classList.add("in-use");
        for (const tag of [best ? "best" : "", inUse ? "model" : ""].filter(Boolean)) {
          cell.append(Object.assign(document.createElement("span"), { className: "tag", textContent: tag }));
        }
        cell.title = `${setting}: validation accuracy ${(100 * v).toFixed(1)}% after epoch ${g.epoch}. Click to use this model.`;
        cell.addEventListener("click", () => pickCell(g.lr[j], g.alpha[i]));
        cell.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pickCell(g.lr[j], g.alpha[i]); } });
      }
    }
  }
  for (let j = 0; j < nL; j++) add("tick x-tick", gnum(g.lr[j]), { gridRow: String(nA + 1), gridColumn: String(j + 3) });
  add("axis-name x-name", "learning rate", { gridRow: String(nA + 2), gridColumn: `3 / span ${nL}` });

  $("grid-scale").hidden = !values.length;
  $("grid-scale-min").textContent = lo.toFixed(3);
  $("grid-scale-max").textContent = hi.toFixed(3);

  const drops = $("grid-dropped");
  drops.innerHTML = "";
  g.dropped.forEach((row, i) => row.forEach((why, j) => {
    if (!why) return;
    const li = document.createElement("li");
    li.textContent = `lr ${gnum(g.lr[j])}, alpha ${gnum(g.alpha[i])}: ${why}`;
    drops.appendChild(li);
  }));

  const n = nA * nL, c = g.config;
  const best = g.best ? ` · best lr ${gnum(g.best.lr)}, alpha ${gnum(g.best.alpha)}: ${(100 * g.best.accuracy).toFixed(1)}%` : "";
  $("grid-status").textContent = `epoch ${g.epoch} / ${g.epochs}${g.done ? " (done)" : ""} · ${n} settings, ` +
    `${c.loss} loss, ${c.penalty} penalty, ${c.optimizer}, batch ${c.batch_size} · ` +
    `${g.rows} training, ${g.val_rows} validation images${best}`;
}

async function callGrid(method, path, body) {
  return images.queue(async () => {
    const out = await api(method, `/api/image/${images.sid}/grid${path}`, body);
    renderGrid(out.grid);
    return out.grid;
  });
}

async function runGrid() {
  showMessage($("msg-grid"), null);
  grid.loaded = null;
  const epochs = $("grid-epochs").value.trim();
  const body = { lr: parseList($("grid-lr").value), alpha: parseList($("grid-alpha").value),
    epochs: /^\d+$/.test(epochs) ? Number(epochs) : epochs };
  grid.running = true;
  $("grid-run").textContent = "Stop"; $("grid-run").classList.add("running");
  try {
    let g = await callGrid("POST", "", body);
    while (grid.running && !g.done) {
      g = await callGrid("POST", "/step", {});
      await new Promise((r) => requestAnimationFrame(r));
    }
  } catch (e) { showMessage($("msg-grid"), e.message, "error"); }
  stopGrid();
}

function clearGrid() {
  stopGrid();
  grid.state = null; grid.loaded = null;
  showMessage($("msg-grid"), null);
  for (const id of ["grid-map", "grid-dropped"]) $(id).innerHTML = "";
  $("grid-map").dataset.epoch = "0"; $("grid-map").dataset.done = "false";
  $("grid-status").textContent = "";
  $("grid-scale").hidden = true;
}

function stopGrid() {
  grid.running = false;
  $("grid-run").textContent = "Run grid"; $("grid-run").classList.remove("running");
}

async function pickCell(lr, alpha) {
  try {
    const st = await images.queue(() => api("POST", `/api/image/${images.sid}/grid/pick`, { lr, alpha }));
    stopRunImage();
    showMessage($("msg-image"), null);
    renderImage(st);
    grid.loaded = { lr, alpha };
    renderGrid(st.grid);
    const v = st.grid.accuracy[st.grid.alpha.indexOf(alpha)][st.grid.lr.indexOf(lr)];
    showMessage($("msg-grid"), `The model above is now lr ${gnum(lr)}, alpha ${gnum(alpha)} ` +
      `(validation accuracy ${(100 * v).toFixed(1)}% after ${st.grid.epoch} epochs): its templates, ` +
      "test images and curves; Train and Run go on from it.", "info");
  } catch (e) { showMessage($("msg-grid"), e.message, "error"); }
}

function setupGrid() {
  const lim = plane.options.grid;
  $("grid-epochs").max = String(lim.max_epochs);
  $("grid-epochs").value = String(lim.default_epochs);
  $("grid-run").addEventListener("click", () => {
    if (grid.running) { stopGrid(); return; }
    stopRunImage();
    runGrid();
  });
}

// --- tabs and start-up ---------------------------------------------------------------------

function showTab(which) {
  for (const [tab, view] of [["tab-2d", "view-2d"], ["tab-image", "view-image"]]) {
    const on = tab === which;
    $(tab).setAttribute("aria-selected", String(on));
    $(view).hidden = !on;
  }
  if (which === "tab-image" && !images.started) {
    images.started = true;
    newSessionImage().catch(reportImage);
  } else if (which === "tab-image" && images.state) {
    renderImage(images.state);
  } else if (which === "tab-2d" && plane.state) {
    render2d(plane.state);
  }
}

async function start() {
  try {
    plane.options = await api("GET", "/api/options");
  } catch (e) { showMessage($("msg-2d"), e.message, "error"); return; }
  setupControls2d();
  setupControlsImage();
  setupGrid();
  setupPlaneEvents();
  $("tab-2d").addEventListener("click", () => showTab("tab-2d"));
  $("tab-image").addEventListener("click", () => showTab("tab-image"));
  new ResizeObserver(() => { if (plane.state) render2d(plane.state); }).observe($("plane"));
  const fragment = location.hash.slice(1);
  try {
    if (fragment) await plane.queue(() => openLink(fragment));
    else await newSession2d($("preset").value);
  } catch (e) { report2d(e); }
  document.body.dataset.ready = "true";
}

// A small window for tests and the curious: where point i is drawn, in page pixels.
window.playground = {
  pointPosition(i) {
    const r = $("plane").getBoundingClientRect();
    const [x, y] = plane.points.X[i];
    const [px, py] = toScreen(x, y, r.width, r.height);
    return { x: r.left + px, y: r.top + py };
  },
  get state2d() { return plane.state; },
  get stateImage() { return images.state; },
  get grid() { return grid.state; },
};

start();
