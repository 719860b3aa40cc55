// genlab playground: the page of `genlab serve`. Plain JavaScript, no library, no network
// beyond the server it came from. Views by the URL's hash: #/ (runs), #/run/NAME, #/claims.
"use strict";

const view = document.getElementById("view");
const errorBox = document.getElementById("error");

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError() { errorBox.hidden = true; errorBox.textContent = ""; }

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body;
  try { body = await response.json(); } catch (e) { body = { error: `HTTP ${response.status}` }; }
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function fmt(v) {
  if (typeof v !== "number") return v === null || v === undefined ? "-" : String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en");
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4);
}

// ------------------------------------------------------------------ the run list

async function listView() {
  const { root, runs } = await api("/api/runs");
  const rows = runs.map(r => el("tr", { class: "run", "data-name": r.name, onclick: () => { location.hash = "#/run/" + encodeURIComponent(r.name); } },
    el("td", {}, el("a", { href: "#/run/" + encodeURIComponent(r.name) }, r.name)), el("td", {}, r.model), el("td", {}, r.data),
    el("td", { class: "num" }, fmt(r.steps)), el("td", { class: "num" }, r.seconds == null ? "-" : r.seconds.toFixed(1) + " s"),
    el("td", { class: "muted" }, Object.entries(r.figures).map(([k, v]) => `${k} ${fmt(v)}`).join(", "))));
  view.replaceChildren(el("h1", {}, "Runs"), el("p", { class: "muted" }, `${runs.length} finished runs under ${root}`),
    runs.length ? el("table", { id: "runs-table" }, el("tr", {}, ["run", "model", "data", "steps", "time", "figures"].map(h => el("th", {}, h))), rows)
                : el("p", {}, "No finished run yet: train one with genlab train MODEL --data NAME."));
}

// ------------------------------------------------------------------ a run

function control(c) {
  const id = "ctl-" + c.name;
  let input;
  if (c.kind === "choice") input = el("select", { id }, c.choices.map(v => el("option", { value: v, selected: v === c.default }, v)));
  else if (c.kind === "flag") input = el("input", { id, type: "checkbox", checked: !!c.default });
  else input = el("input", { id, type: "number", value: c.default, step: c.kind === "integer" ? 1 : "any" });
  input.dataset.setting = c.name;
  input.dataset.kind = c.kind;
  return el("label", { title: c.note }, c.name, input);
}

function settingsOf(panel) {
  const out = {};
  for (const input of panel.querySelectorAll("[data-setting]")) {
    if (input.dataset.kind === "flag") out[input.dataset.setting] = input.checked;
    else if (input.dataset.kind === "choice") out[input.dataset.setting] = input.value;
    else if (input.value !== "") out[input.dataset.setting] = Number(input.value);
  }
  return out;
}

function numberInput(id, label, value, min, max) {
  return el("label", {}, label, el("input", { id, type: "number", value, min, max, step: 1 }));
}

function valueOf(id) { const v = document.getElementById(id).value; return v === "" ? null : Number(v); }

function labelSelect(id, info) {
  if (!info.conditional) return [];
  const options = [el("option", { value: "all" }, "all classes")];
  for (let k = 0; k < info.num_classes; k++) options.push(el("option", { value: k }, `class ${k}`));
  return [el("label", {}, "label", el("select", { id }, options))];
}

function labelOf(id) { const s = document.getElementById(id); return !s || s.value === "all" ? null : Number(s.value); }

async function act(name, action, body, result, button) {
  clearError();
  button.disabled = true;
  try {
    const options = body instanceof Blob ? { method: "POST", body, headers: { "Content-Type": body.type || "application/octet-stream" } }
                                         : { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
    const query = `?name=${encodeURIComponent(name)}` + (body instanceof Blob && result.dataset.direction ? `&direction=${result.dataset.direction}` : "");
    const answer = await api(`/api/act/${action}${query}`, options);
    const shown = [];
    if (answer.image) shown.push(el("img", { class: "result-image", src: answer.image, alt: `${action} result` }));
    if (answer.texts) shown.push(el("pre", { class: "texts" }, answer.texts.map((t, i) => `${i + 1}. ${t}`).join("\n")));
    if (answer.probabilities) shown.push(el("p", {}, `predicted class ${answer.predicted}: `,
      answer.probabilities.map((p, k) => `${k}: ${p.toFixed(3)}`).join(", ")));
    shown.push(el("p", { class: "took" }, `took ${answer.seconds.toFixed(3)} s`));
    result.replaceChildren(...shown);
    result.dataset.count = String(Number(result.dataset.count || 0) + 1);
  } catch (e) {
    showError(`${action}: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

function samplePanel(run) {
  const info = run.abilities, result = el("div", { class: "result", id: "sample-result" });
  const kind = info.kind, n = kind === "points" ? 2000 : kind === "text" ? 5 : 16;
  const button = el("button", { id: "sample-button" }, "sample");
  const panel = el("section", { class: "panel", id: "sample-panel" }, el("h2", {}, "Sample"),
    el("div", { class: "controls" }, numberInput("seed", "seed", 0, 0), numberInput("n", "n", n, 1),
      labelSelect("label", info), kind === "text" ? [el("label", {}, "prompt", el("input", { id: "prompt", type: "text", size: 30 }))] : [],
      run.controls.map(control), button), result);
  button.addEventListener("click", () => act(run.name, "sample", {
    seed: valueOf("seed"), n: valueOf("n"), label: labelOf("label"),
    prompt: kind === "text" ? document.getElementById("prompt").value : undefined, settings: settingsOf(panel) }, result, button));
  return panel;
}

function walkPanel(run) {
  const result = el("div", { class: "result", id: "walk-result" }), button = el("button", { id: "walk-button" }, "walk");
  const shared = run.controls.filter(c => !["sampler", "eta", "noise"].includes(c.name));
  const panel = el("section", { class: "panel", id: "walk-panel" }, el("h2", {}, "Latent walk between two seeds"),
    el("p", { class: "muted" }, run.model === "ddpm" ? "along DDIM's deterministic path (eta = 0)" : "on the great circle between the two noises"),
    el("div", { class: "controls" }, numberInput("seed-a", "seed A", 0, 0), numberInput("seed-b", "seed B", 1, 0),
      numberInput("walk-steps", "steps", 8, 2, 16), labelSelect("walk-label", run.abilities), shared.map(c => control({ ...c, name: c.name })), button), result);
  for (const input of panel.querySelectorAll("[id^=ctl-]")) input.id = "walk-" + input.id;
  button.addEventListener("click", () => act(run.name, "walk", { seed_a: valueOf("seed-a"), seed_b: valueOf("seed-b"),
    steps: valueOf("walk-steps"), label: labelOf("walk-label"), settings: settingsOf(panel) }, result, button));
  return panel;
}

function mixPanel(run) {
  const result = el("div", { class: "result", id: "mix-result" }), button = el("button", { id: "mix-button" }, "mix");
  const panel = el("section", { class: "panel", id: "mix-panel" }, el("h2", {}, "Style mixing"),
    el("p", { class: "muted" }, "coarse styles by row, fine styles by column, crossing over at a style layer"),
    el("div", { class: "controls" }, numberInput("mix-seed", "seed", 0, 0), numberInput("mix-rows", "rows", 4, 1, 8),
      numberInput("mix-cols", "columns", 6, 1, 8), numberInput("mix-crossover", "crossover layer", "", 1), button), result);
  button.addEventListener("click", () => act(run.name, "mix", { seed: valueOf("mix-seed"), rows: valueOf("mix-rows"),
    cols: valueOf("mix-cols"), crossover: valueOf("mix-crossover") ?? undefined }, result, button));
  return panel;
}

function drawingCanvas(id) {
  const canvas = el("canvas", { id, class: "draw", width: 196, height: 196 });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000"; ctx.fillRect(0, 0, 196, 196);
  let down = false;
  const at = e => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  canvas.addEventListener("pointerdown", e => { down = true; ctx.beginPath(); ctx.moveTo(...at(e)); });
  canvas.addEventListener("pointermove", e => {
    if (!down) return;
    ctx.lineTo(...at(e)); ctx.strokeStyle = "#fff"; ctx.lineWidth = 16; ctx.lineCap = "round"; ctx.stroke();
    canvas.dataset.drawn = "yes";
  });
  window.addEventListener("pointerup", () => { down = false; });
  return canvas;
}

function uploadPanel(run, action, title) {
  const result = el("div", { class: "result", id: `${action}-result` }), button = el("button", { id: `${action}-button` }, action);
  const file = el("input", { id: `${action}-file`, type: "file", accept: "image/*" });
  const canvas = drawingCanvas(`${action}-canvas`);
  const clear = el("button", { type: "button", onclick: () => { const c = canvas.getContext("2d"); c.fillStyle = "#000"; c.fillRect(0, 0, 196, 196); delete canvas.dataset.drawn; } }, "clear");
  const direction = action === "translate" ? el("select", { id: "direction", onchange: e => { result.dataset.direction = e.target.value; } },
    el("option", { value: "a2b" }, "A to B"), el("option", { value: "b2a" }, "B to A")) : null;
  if (direction) result.dataset.direction = "a2b";
  button.addEventListener("click", () => {
    if (file.files.length) return act(run.name, action, file.files[0], result, button);
    canvas.toBlob(blob => act(run.name, action, blob, result, button), "image/png");
  });
  return el("section", { class: "panel", id: `${action}-panel` }, el("h2", {}, title),
    el("p", { class: "muted" }, "upload a picture, or draw one (white on black) and leave the file empty"),
    el("div", { class: "controls" }, file, canvas, clear, direction ? el("label", {}, "direction", direction) : [], button), result);
}

function pointPanel(run) {
  const result = el("div", { class: "result", id: "predict-result" }), button = el("button", { id: "predict-button" }, "predict");
  button.addEventListener("click", () => act(run.name, "predict", { point: [valueOf("px"), valueOf("py")] }, result, button));
  return el("section", { class: "panel", id: "predict-panel" }, el("h2", {}, "Predict a point's class"),
    el("div", { class: "controls" }, el("label", {}, "x", el("input", { id: "px", type: "number", value: 0, step: "any" })),
      el("label", {}, "y", el("input", { id: "py", type: "number", value: 0, step: "any" })), button), result);
}

function evalTable(scores) {
  if (!scores) return el("p", { class: "muted" }, "not evaluated yet: genlab eval RUN_DIR");
  return el("table", { id: "eval-table" }, el("tr", {}, el("th", {}, "figure"), el("th", {}, "model"), el("th", {}, "real vs real")),
    Object.entries(scores).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "num", "data-key": k }, fmt(v.model)),
      el("td", { class: "num" }, fmt(v.real)))));
}

async function runView(name) {
  const run = await api("/api/run?name=" + encodeURIComponent(name));
  const info = run.abilities;
  const pictures = run.pictures.map(file => el("figure", {}, el("img", { src: `/api/picture?name=${encodeURIComponent(name)}&file=${encodeURIComponent(file)}`, alt: file }),
    el("figcaption", {}, file)));
  const facts = [["model", run.model], ["data", run.data], ["steps", fmt(run.steps)], ["training time", run.seconds == null ? "-" : run.seconds.toFixed(1) + " s"], ["device here", run.device]];
  const panels = [];
  if (info.samples) panels.push(samplePanel(run));
  if (info.walks) panels.push(walkPanel(run));
  if (info.mixes) panels.push(mixPanel(run));
  if (info.translates) panels.push(uploadPanel(run, "translate", "Translate your picture"));
  if (info.classifies) panels.push(info.kind === "points" ? pointPanel(run) : uploadPanel(run, "predict", "Predict your picture's class"));
  view.replaceChildren(el("h1", { id: "run-title" }, run.name),
    el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))),
    ...panels, el("h2", {}, "Evaluation"), evalTable(run.eval), el("h2", {}, "Pictures of the run"), el("div", { class: "pictures" }, pictures),
    el("details", {}, el("summary", {}, "every setting of the run"), el("pre", { class: "muted" }, JSON.stringify(run.settings, null, 1))));
}

// ------------------------------------------------------------------ claims with a slider

const SVG = "http://www.w3.org/2000/svg";

function chart(svg, series, { xLabel = "", marker = null } = {}) {
  const W = 520, H = 260, L = 40, B = 30, T = 10, R = 10;
  const xs = series.flatMap(s => s.xs), ys = series.flatMap(s => s.ys);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(0, ...ys), y1 = Math.max(...ys) * 1.05 || 1;
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R), py = y => H - B - (y - y0) / (y1 - y0) * (H - B - T);
  const make = (tag, attrs) => { const n = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("width", W); svg.setAttribute("height", H);
  svg.append(make("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }), make("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
  for (const t of [0, 0.5, 1]) {
    const xv = x0 + t * (x1 - x0), yv = y0 + t * (y1 - y0);
    const xt = make("text", { x: px(xv), y: H - B + 14, "font-size": 10, "text-anchor": "middle" }); xt.textContent = xv.toPrecision(3); svg.append(xt);
    const yt = make("text", { x: L - 4, y: py(yv) + 3, "font-size": 10, "text-anchor": "end" }); yt.textContent = yv.toPrecision(3); svg.append(yt);
  }
  const label = make("text", { x: (L + W) / 2, y: H - 4, "font-size": 11, "text-anchor": "middle" }); label.textContent = xLabel; svg.append(label);
  series.forEach((s, i) => {
    const d = s.xs.map((x, j) => `${j ? "L" : "M"}${px(x).toFixed(1)},${py(s.ys[j]).toFixed(1)}`).join("");
    svg.append(make("path", { d, fill: "none", stroke: s.colour, "stroke-width": 2, "stroke-dasharray": s.dashed ? "6 4" : "none", "data-series": s.label }));
    const key = make("text", { x: L + 10, y: T + 12 + 14 * i, "font-size": 11, fill: s.colour }); key.textContent = s.label; svg.append(key);
  });
  if (marker !== null) svg.append(make("line", { x1: px(marker), x2: px(marker), y1: T, y2: H - B, stroke: "#444", "stroke-dasharray": "2 3", id: "marker" }));
}

async function claimsView() {
  const dSlider = el("input", { id: "d-slider", type: "range", min: 0, max: 6, step: 0.1, value: 1.5 });
  const dOut = el("p", { id: "d-figures" }), dChart = document.createElementNS(SVG, "svg");
  dChart.setAttribute("class", "chart"); dChart.id = "d-chart";
  const sSlider = el("input", { id: "s-slider", type: "range", min: 0, max: 4, step: 0.25, value: 2 });
  const sOut = el("p", { id: "s-figures" }), sChart = document.createElementNS(SVG, "svg");
  sChart.setAttribute("class", "chart"); sChart.id = "s-chart";

  async function drawDistance() {
    try {
      const r = await api("/api/explain/distance?d=" + dSlider.value);
      dOut.textContent = `d = ${r.d.toFixed(1)}: JS = ${r.js.toFixed(4)} nats (log 2 = ${r.log2.toFixed(4)}), W1 = ${r.w1.toFixed(3)}` +
        (r.disjoint ? " — the supports are disjoint: JS no longer changes with d, W1 still does" : "");
      chart(dChart, [{ label: "W1", xs: r.ds, ys: r.w1_curve, colour: "#d62728" }, { label: "JS (nats)", xs: r.ds, ys: r.js_curve, colour: "#2ca02c" },
        { label: "log 2", xs: r.ds, ys: r.ds.map(() => r.log2), colour: "#1f77b4", dashed: true }], { xLabel: "distance d between U[0,1) and U[d,d+1)", marker: r.d });
    } catch (e) { showError(e.message); }
  }
  async function drawKL() {
    try {
      sOut.textContent = "fitting…";
      const r = await api("/api/explain/kl?separation=" + sSlider.value);
      const f = r.forward, b = r.reverse;
      sOut.textContent = `modes at ±${r.separation}: forward KL fit mean ${f.mean.toFixed(2)}, variance ${f.variance.toFixed(2)} (KL(p||q) ${f.kl_pq.toFixed(3)}); ` +
        `reverse KL fit mean ${b.mean.toFixed(2)}, variance ${b.variance.toFixed(2)} (KL(q||p) ${b.kl_qp.toFixed(3)})`;
      chart(sChart, [{ label: "p (two modes)", xs: r.x, ys: r.p, colour: "#1f77b4" }, { label: "q by forward KL (covers)", xs: r.x, ys: f.density, colour: "#d62728" },
        { label: "q by reverse KL (seeks)", xs: r.x, ys: b.density, colour: "#2ca02c" }], { xLabel: "x" });
    } catch (e) { showError(e.message); }
  }
  dSlider.addEventListener("input", drawDistance);
  sSlider.addEventListener("change", drawKL);
  view.replaceChildren(el("h1", {}, "Claims of the notes, with a knob"),
    el("section", { class: "panel" }, el("h2", {}, "JS saturates, Wasserstein does not"),
      el("p", { class: "muted" }, "Two uniform distributions of width 1, d apart. Move d: once they no longer overlap (d ≥ 1), the Jensen–Shannon divergence stays at log 2 and gives a generator no direction, while W1 = d keeps measuring how far apart they are."),
      el("label", {}, "d ", dSlider), dOut, dChart),
    el("section", { class: "panel" }, el("h2", {}, "Forward KL covers modes, reverse KL seeks one"),
      el("p", { class: "muted" }, "A single Gaussian fitted to two modes at ±s: minimising KL(p||q) matches the moments and spreads over both; minimising KL(q||p) settles on one mode. Move s and release."),
      el("label", {}, "s ", sSlider), sOut, sChart),
    el("p", { class: "muted" }, "More claims, measured: genlab explain (in a terminal)."));
  await Promise.all([drawDistance(), drawKL()]);
}

// ------------------------------------------------------------------ routing

async function route() {
  clearError();
  const hash = location.hash || "#/";
  try {
    if (hash.startsWith("#/run/")) await runView(decodeURIComponent(hash.slice(6)));
    else if (hash === "#/claims") await claimsView();
    else await listView();
  } catch (e) {
    view.replaceChildren(el("p", {}, "This page could not be shown."));
    showError(e.message);
  }
  document.body.dataset.ready = hash;
}

window.addEventListener("hashchange", route);
route();
