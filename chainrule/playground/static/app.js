// The chainrule playground page. Every number it shows was computed by the server (chainrule):
// this script only draws them and sends what the reader asks for.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const NEGATIVE = [245, 147, 34];  // class 0, negative weights
const POSITIVE = [8, 119, 189];  // class 1, positive weights
const PALETTE = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];
const FLOW_RANGE = [-7, 1];  // log10 of the gradient norms the strips colour
const SAMPLES_SHOWN = 4;  // per-sample columns of the chain-rule table
const VECTOR_SHOWN = 3;  // entries of a per-sample vector shown in one cell

const state = {
  session: null, limits: null, setup: null, frame: null, history: [], events: null,
  selected: null,  // {layer, parameter, index}
  explainedStep: null,
};

// ------------------------------------------------------------------ helpers
function $(id) { return document.getElementById(id); }

function element(tag, attributes = {}, text = null, namespace = null) {
  const node = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function subscript(...indices) {
  const digits = "₀₁₂₃₄₅₆₇₈₉";
  return indices.map((i) => String(i + 1).replace(/\d/g, (d) => digits[d])).join(",");
}

function format(value, digits = 4) {
  if (value === null || value === undefined) return "—";
  if (value === 0) return "0";
  const size = Math.abs(value);
  return size >= 1e-3 && size < 1e4 ? Number(value.toPrecision(digits)).toString()
    : value.toExponential(digits - 1);
}

function showMessage(text) { $("message").textContent = text; }

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function mix(colour, amount) {  // white → colour
  return colour.map((c) => Math.round(255 + (c - 255) * amount));
}

// ------------------------------------------------------------------ heat maps
const scratch = document.createElement("canvas");

function diverging(level) {  // 0 orange … 127 white … 255 blue
  const t = level / 255 * 2 - 1;
  return t < 0 ? mix(NEGATIVE, -t) : mix(POSITIVE, t);
}

function mapImage(unit, colours) {
  const bytes = decode(unit.map);
  const side = Math.round(Math.sqrt(bytes.length));
  scratch.width = scratch.height = side;
  const context = scratch.getContext("2d");
  const image = context.createImageData(side, side);
  for (let i = 0; i < bytes.length; i++) {
    const [r, g, b] = colours(bytes[i]);
    image.data.set([r, g, b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
  return scratch.toDataURL();
}

function unitColours(layer, unit) {
  const last = layer === state.setup.sizes.length - 1;
  const activation = state.setup.config.activation;
  if (last && state.setup.classes > 2) {
    return (level) => mix(PALETTE[unit % PALETTE.length], level / 255);
  }
  if (!last && activation === "relu") return (level) => mix(POSITIVE, level / 255);
  return diverging;
}

// ------------------------------------------------------------------ the network diagram
const NODE = 36;
const ROW = 48;

function layerLabel(layer) {
  const sizes = state.setup.sizes;
  if (layer === 0) return "input";
  return layer === sizes.length - 1 ? "output" : `layer ${layer}`;
}

function buildNetwork() {
  const svg = $("network");
  svg.replaceChildren();
  const sizes = state.setup.sizes;
  const plane = state.setup.input_maps.length > 0;
  const shown = sizes.map((n, layer) => (layer === 0 && !plane ? 1 : n));
  const width = 90 + 110 * (sizes.length - 1);
  const height = Math.max(...shown) * ROW + 30;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const position = (layer, unit) => [45 + 110 * layer,
    30 + (height - 30 - shown[layer] * ROW) / 2 + unit * ROW + ROW / 2];
  state.edges = [];
  state.nodes = [];
  for (let layer = 0; layer < sizes.length; layer++) {
    const [x] = position(layer, 0);
    svg.append(element("text", {x: x, y: 14, "text-anchor": "middle"}, layerLabel(layer), SVG));
  }
  const edges = element("g", {}, null, SVG);
  const nodes = element("g", {}, null, SVG);
  svg.append(edges, nodes);
  for (let layer = 1; layer < sizes.length; layer++) {
    for (let j = 0; j < sizes[layer]; j++) {
      for (let k = 0; k < shown[layer - 1]; k++) {
        if (layer === 1 && !plane) continue;  // 64 pixel inputs: weights via the picker
        const [x0, y0] = position(layer - 1, k);
        const [x1, y1] = position(layer, j);
        const middle = (x0 + x1) / 2;
        const path = element("path", {
          class: "edge", tabindex: "0", role: "button",
          d: `M${x0 + NODE / 2},${y0} C${middle},${y0} ${middle},${y1} ${x1 - NODE / 2},${y1}`,
          "aria-label": `weight W[${layer}]${subscript(j, k)}: from ${layer === 1 ? "input" : "neuron"} ${k + 1} into neuron ${j + 1} of ${layerLabel(layer)}`,
        }, null, SVG);
        const target = {layer, parameter: "W", index: [j, k]};
        activate(path, target);
        edges.append(path);
        state.edges.push({path, layer, j, k});
      }
    }
  }
  for (let layer = 0; layer < sizes.length; layer++) {
    state.nodes[layer] = [];
    for (let unit = 0; unit < shown[layer]; unit++) {
      const [x, y] = position(layer, unit);
      const group = element("g", {class: "node"}, null, SVG);
      const image = element("image", {x: x - NODE / 2, y: y - NODE / 2, width: NODE, height: NODE,
        preserveAspectRatio: "none"}, null, SVG);
      const frame = element("rect", {x: x - NODE / 2, y: y - NODE / 2, width: NODE, height: NODE},
        null, SVG);
      group.append(image, frame);
      if (layer === 0) {
        const name = plane ? state.setup.axes[unit] : `${sizes[0]} pixels`;
        group.append(element("text", {x: x - NODE / 2 - 4, y: y + 4, "text-anchor": "end"}, name, SVG));
        if (plane) image.setAttribute("href", mapImage(state.setup.input_maps[unit], diverging));
      } else {
        group.setAttribute("tabindex", "0");
        group.setAttribute("role", "button");
        group.setAttribute("aria-label", `neuron ${unit + 1} of ${layerLabel(layer)}: the chain rule of its bias b[${layer}]${subscript(unit)}`);
        activate(group, {layer, parameter: "b", index: [unit]});
      }
      nodes.append(group);
      state.nodes[layer].push({group, image});
    }
  }
  const picker = $("picker");
  picker.elements.layer.max = sizes.length - 1;
}

function activate(node, target) {
  node.addEventListener("click", () => explain(target));
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      explain(target);
    }
  });
}

function drawNetwork(frame) {
  for (const {path, layer, j, k} of state.edges) {
    const w = frame.weights[layer - 1].W[j][k];
    path.setAttribute("class", `edge ${w >= 0 ? "positive" : "negative"}` +
      (isSelected(layer, "W", [j, k]) ? " selected" : ""));
    path.setAttribute("stroke-width", (0.5 + 2.5 * Math.min(Math.abs(w), 3)).toFixed(2));
  }
  frame.maps.forEach((units, position) => {
    const layer = position + 1;
    units.forEach((unit, index) => {
      const node = state.nodes[layer][index];
      node.image.setAttribute("href", mapImage(unit, unitColours(layer, index)));
      node.group.classList.toggle("selected", isSelected(layer, "b", [index]));
    });
  });
}

function isSelected(layer, parameter, index) {
  const s = state.selected;
  return s !== null && s.layer === layer && s.parameter === parameter &&
    s.index.every((v, i) => v === index[i]);
}

// ------------------------------------------------------------------ output, loss, flow
function classColour(c) {
  return state.setup.classes === 2 ? (c === 1 ? POSITIVE : NEGATIVE) : PALETTE[c % PALETTE.length];
}

function drawBoundary(frame) {
  const canvas = $("boundary");
  const context = canvas.getContext("2d");
  const {size} = frame.boundary;
  const classes = decode(frame.boundary.classes);
  const confidence = decode(frame.boundary.confidence);
  scratch.width = scratch.height = size;
  const small = scratch.getContext("2d");
  const image = small.createImageData(size, size);
  for (let i = 0; i < classes.length; i++) {
    image.data.set([...mix(classColour(classes[i]), 0.15 + 0.6 * confidence[i] / 255), 255], 4 * i);
  }
  small.putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  const [[xLo, xHi], [yLo, yHi]] = state.setup.bounds;
  const radius = state.setup.points.length > 1000 ? 2 : 3;
  for (const [x, y, label, split] of state.setup.points) {
    const px = (x - xLo) / (xHi - xLo) * canvas.width;
    const py = (yHi - y) / (yHi - yLo) * canvas.height;
    context.beginPath();
    context.arc(px, py, radius, 0, 2 * Math.PI);
    context.fillStyle = `rgb(${classColour(label).join(",")})`;
    context.fill();
    context.lineWidth = 1;
    context.strokeStyle = split === 1 ? "#000" : "#fff";
    context.stroke();
  }
}

function drawLoss() {
  const canvas = $("loss");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const points = state.history;
  if (points.length < 2) return;
  const values = points.flatMap((p) => [p.train, p.test]).filter((v) => v !== null);
  const top = Math.max(...values, 1e-12);
  const last = points[points.length - 1].step || 1;
  for (const [key, colour] of [["test", "#999"], ["train", "#222"]]) {
    context.beginPath();
    context.strokeStyle = colour;
    context.lineWidth = 1.5;
    let started = false;
    for (const p of points) {
      if (p[key] === null) continue;
      const x = p.step / last * (canvas.width - 2) + 1;
      const y = canvas.height - 2 - p[key] / top * (canvas.height - 4);
      if (started) context.lineTo(x, y); else context.moveTo(x, y);
      started = true;
    }
    context.stroke();
  }
}

function flowColour(norm) {  // dark blue (vanished) → yellow (large), by log10
  if (norm === null || norm <= 0) return [0, 0, 0];
  const t = Math.min(1, Math.max(0, (Math.log10(norm) - FLOW_RANGE[0]) / (FLOW_RANGE[1] - FLOW_RANGE[0])));
  return [Math.round(30 + 225 * t), Math.round(20 + 200 * t), Math.round(90 + 60 * (1 - t) - 50 * t)];
}

function drawStrip(canvas, columns) {  // columns: per time, per layer norms
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (columns.length === 0) return;
  const layers = columns[0].length;
  const width = canvas.width / columns.length;
  const height = canvas.height / layers;
  columns.forEach((norms, t) => norms.forEach((norm, layer) => {
    context.fillStyle = `rgb(${flowColour(norm).join(",")})`;
    context.fillRect(t * width, layer * height, Math.ceil(width), Math.ceil(height));
  }));
}

function drawFlow() {
  const columns = state.history.filter((p) => p.grad_norm !== null).map((p) => p.grad_norm);
  drawStrip($("flow"), columns.slice(-320));
}

function updateText(frame) {
  const last = state.history[state.history.length - 1];
  const percent = (v) => `${(100 * v).toFixed(1)}%`;
  $("status").textContent = `step ${frame.step} · epoch ${frame.epoch}` +
    (frame.playing ? " · training" : " · paused");
  $("loss-text").textContent = `loss: train ${format(last.train)} · test ${format(last.test)}; ` +
    `accuracy: train ${percent(last.train_accuracy)} · test ${percent(last.test_accuracy)}`;
  const play = $("play");
  play.setAttribute("aria-pressed", String(frame.playing));
  play.textContent = frame.playing ? "Pause" : "Play";
}

// ------------------------------------------------------------------ the chain-rule panel
function valueText(value) {
  if (Array.isArray(value) && value.length === 1) value = value[0];  // one output unit
  if (!Array.isArray(value)) return format(value, 4);
  const shown = value.slice(0, VECTOR_SHOWN).map((v) => format(v, 2));
  return `[${shown.join(", ")}${value.length > VECTOR_SHOWN ? ", …" : ""}]`;
}

function pathRow(cells, className = "") {
  const row = element("tr", className ? {class: className} : {});
  cells.forEach(([text, attributes]) => row.append(element("td", attributes || {}, text)));
  return row;
}

function renderExplanation(answer) {
  const {path, check, update, loss} = answer;
  const parameter = `${answer.parameter}[${answer.layer}]${subscript(...answer.index)}`;
  const panel = $("chain");
  panel.replaceChildren();
  panel.append(element("h3", {}, `∂J/∂${parameter} in step ${answer.step} (batch of ${answer.batch_size})`));
  panel.append(element("p", {class: "equation"}, path.equation));
  panel.append(element("p", {class: "help"},
    `${loss.formula} = ${format(loss.value)} (${loss.name}), on the weights before this step's update. ` +
    "Rows are the terms of the chain from the loss down; columns are samples i of the batch."));

  const m = path.terms.length;
  const shown = Math.min(m, SAMPLES_SHOWN);
  const table = element("table", {"aria-label": "chain rule terms per sample"});
  const head = element("tr");
  head.append(element("th", {scope: "col"}, "term"), element("th", {scope: "col"}, "formula"));
  for (let i = 0; i < shown; i++) head.append(element("th", {scope: "col"}, `i = ${i + 1}`));
  if (m > shown) head.append(element("th", {scope: "col"}, `… ${m - shown} more`));
  head.append(element("th", {scope: "col"}, "✓"));
  table.append(head);
  const mark = (verified) => verified === true ? ["✓", {class: "ok", title: "agrees with backpropagation"}]
    : verified === false ? ["✗", {class: "bad"}] : ["", {}];
  const samples = (values) => {
    const cells = values.slice(0, shown).map((v) => [valueText(v)]);
    if (m > shown) cells.push(["…"]);
    return cells;
  };
  for (const link of [...path.links, path.local]) {
    table.append(pathRow([[link.symbol], [link.formula, {class: "formula"}],
      ...samples(link.values), mark(link.verified)]));
  }
  const local = path.local.symbol.split("/")[0];
  table.append(pathRow([[`product`], [`∂J/${local} · ${path.local.formula}`, {class: "formula"}],
    ...samples(path.terms), [""]]));
  const sum = pathRow([[`Σᵢ = ∂J/∂${parameter}`], ["sum over the batch", {class: "formula"}],
    [format(path.gradient, 6), {colspan: String(shown + (m > shown ? 1 : 0)), class: "total", "data-name": "gradient",
      "data-value": String(path.gradient)}], [""]], "sum");
  table.append(sum);
  panel.append(table);

  const facts = element("dl");
  const fact = (term, value, name, extra = "") => {
    facts.append(element("dt", {}, term));
    facts.append(element("dd", {"data-name": name, "data-value": String(value)}, format(value, 6) + extra));
  };
  fact("backpropagation (chainrule)", check.backward, "backward");
  fact("central difference (J(θ+ε) − J(θ−ε))/2ε, float64", check.numerical, "numerical");
  facts.append(element("dt", {}, "relative difference"));
  facts.append(element("dd", {class: check.ok ? "ok" : "bad", "data-name": "check"},
    `${format(check.rel_error, 2)} ${check.ok ? "✓ agrees" : "✗ disagrees"}`));
  panel.append(facts);

  const symbol = parameter;
  let text;
  if (update.optimizer === "adam") {
    text = `${symbol} ← ${symbol} − η m̂ / (√v̂ + ε) = ${format(update.before, 6)} − ${format(update.lr)} × ` +
      `${format(update.m_hat)} / (√${format(update.v_hat)} + ε) = ${format(update.computed, 6)}` +
      ` (Adam step ${update.step}; m̂ and v̂ average ∂J/∂θ${update.weight_decay ? " + λθ" : ""} over steps)`;
  } else {
    const decay = update.weight_decay ? ` + ${format(update.weight_decay)} × ${format(update.before)}` : "";
    text = `${symbol} ← ${symbol} − η ∂J/∂${symbol}${update.weight_decay ? " (+ λθ)" : ""} = ` +
      `${format(update.before, 6)} − ${format(update.lr)} × (${format(check.backward)}${decay}) = ` +
      `${format(update.computed, 6)}`;
  }
  panel.append(element("h3", {}, "The update"));
  panel.append(element("p", {class: "numbers", "data-name": "update"}, text));
  panel.append(element("p", {class: "numbers"},
    `the optimizer set it to ${format(update.after, 6)}`));
}

async function explain(target) {
  if (!state.frame || state.frame.step === 0) {
    showMessage("press Step or Play first: the chain rule is shown for the last step's batch");
    return;
  }
  state.selected = target;
  const picker = $("picker").elements;
  picker.layer.value = target.layer;
  picker.parameter.value = target.parameter;
  picker.row.value = target.index[0] + 1;
  if (target.index.length > 1) picker.column.value = target.index[1] + 1;
  if (state.frame) drawNetwork(state.frame);
  try {
    const answer = await api("api/explain", {session: state.session, ...target});
    state.explainedStep = answer.step;
    renderExplanation(answer);
    $("chain-summary").textContent = `∂J/∂${answer.parameter}[${answer.layer}]` +
      `${subscript(...answer.index)} = ${format(answer.check.backward, 6)} in step ${answer.step}; ` +
      `central difference ${format(answer.check.numerical, 6)}: ` +
      (answer.check.ok ? "agrees" : "disagrees");
    showMessage("");
  } catch (error) {
    showMessage(error.message);
  }
}

// ------------------------------------------------------------------ the comparison
async function compare() {
  const button = $("compare");
  const result = $("comparison");
  button.disabled = true;
  result.replaceChildren(element("p", {class: "help"}, "training two deep networks on the server…"));
  try {
    const flow = await api("api/compare", {session: state.session});
    result.replaceChildren();
    for (const [name, run] of Object.entries(flow.runs)) {
      const figure = element("figure");
      const canvas = element("canvas", {width: "340", height: "70", role: "img",
        "aria-label": `${name}: gradient norm per layer over ${flow.epochs} epochs`});
      const epochs = run.grad_norm[0].length;
      const columns = Array.from({length: epochs}, (_, t) => run.grad_norm.map((layer) => layer[t]));
      drawStrip(canvas, columns);
      const first = run.grad_norm[0][0];
      const last = run.grad_norm[run.grad_norm.length - 1][0];
      figure.append(canvas, element("figcaption", {},
        `${flow.depth} hidden ${name} layers: ‖∂J/∂θ‖ is ${format(first, 2)} at layer 1, ` +
        `${format(last, 2)} at the output (epoch 1); final loss ${format(run.loss, 3)}`));
      result.append(figure);
    }
  } catch (error) {
    result.replaceChildren();
    showMessage(error.message);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ settings and the stream
function readSettings() {
  const form = $("settings").elements;
  const hidden = form.hidden.value.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const {hidden_layers: depth, width} = state.limits;
  if (hidden.length > depth || hidden.some((n) => !(n >= 1 && n <= width))) {
    throw new Error(`hidden layers: at most ${depth} widths from 1 to ${width}, e.g. 4,4`);
  }
  return {
    dataset: form.dataset.value, points: Number(form.points.value), noise: Number(form.noise.value),
    seed: Number(form.seed.value), hidden, activation: form.activation.value, loss: form.loss.value,
    optimizer: form.optimizer.value, lr: Number(form.lr.value), batch_size: Number(form.batch_size.value),
    weight_decay: Number(form.weight_decay.value),
  };
}

function writeSettings(config) {
  const form = $("settings").elements;
  for (const [name, value] of Object.entries(config)) {
    if (form[name]) form[name].value = Array.isArray(value) ? value.join(",") : value;
  }
  const plane = config.dataset !== "digits";
  form.points.disabled = form.noise.disabled = !plane;
}

function onSetup(setup) {
  state.setup = setup;
  state.history = [];
  state.selected = null;
  writeSettings(setup.config);
  $("axes").textContent = `horizontal ${setup.axes[0]}, vertical ${setup.axes[1]}; ` +
    "points: white rim training, black rim test" +
    (setup.config.dataset === "digits" ? "; the background is the model on the plane of the first two principal components" : "");
  buildNetwork();
}

function onFrame(frame) {
  state.history = frame.since === 0 ? frame.history : state.history.concat(frame.history);
  state.frame = frame;
  updateText(frame);
  drawNetwork(frame);
  drawBoundary(frame);
  drawLoss();
  drawFlow();
  if (state.selected && !frame.playing && state.explainedStep !== frame.step) {
    state.explainedStep = frame.step;
    explain(state.selected);  // a step taken by hand: show its numbers
  }
}

async function start() {
  try {
    const answer = await api("api/session", {});
    state.session = answer.session;
    state.limits = answer.limits;
  } catch (error) {
    showMessage(error.message);
    return;
  }
  const events = new EventSource(`api/events?session=${encodeURIComponent(state.session)}`);
  events.addEventListener("setup", (event) => onSetup(JSON.parse(event.data)));
  events.addEventListener("frame", (event) => onFrame(JSON.parse(event.data)));
  events.addEventListener("open", () => showMessage(""));
  events.addEventListener("error", () => showMessage("connection to the server lost; retrying…"));
  state.events = events;
}

async function send(path, body) {
  try {
    return await api(path, {session: state.session, ...body});
  } catch (error) {
    showMessage(error.message);
    return null;
  }
}

async function apply(reset) {
  let config;
  try {
    config = readSettings();
  } catch (error) {
    showMessage(error.message);
    return;
  }
  const answer = await send("api/config", {config, reset});
  if (answer) showMessage(answer.reset ? "new network" : "settings applied");
}

function wire() {
  $("play").addEventListener("click", () => send("api/play", {playing: !(state.frame && state.frame.playing)}));
  $("step").addEventListener("click", () => send("api/step", {steps: 1}));
  $("reset").addEventListener("click", () => apply(true));
  $("compare").addEventListener("click", compare);
  $("settings").addEventListener("submit", (event) => {
    event.preventDefault();
    if ($("settings").reportValidity()) apply(false);
  });
  $("picker").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = $("picker").elements;
    const parameter = form.parameter.value;
    const index = [Number(form.row.value) - 1];
    if (parameter === "W") index.push(Number(form.column.value) - 1);
    explain({layer: Number(form.layer.value), parameter, index});
  });
}

wire();
start();
