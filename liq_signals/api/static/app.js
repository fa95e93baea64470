// Page for `liq-signals serve`: reads the JSON endpoints of the same server and draws them with Plotly.
"use strict";
const RANGES = [["12h", 12], ["24h", 24], ["3d", 72], ["7d", 168], ["30d", 720], ["90d", 2160], ["180d", 4320], ["1y", 8760]];
const STEPS = [["1m", 1], ["5m", 5], ["15m", 15], ["30m", 30], ["1h", 60], ["2h", 120], ["4h", 240], ["6h", 360], ["12h", 720], ["1d", 1440]];
const TIER_COLOURS = ["#2f6fb0", "#3fa7a3", "#d9b310", "#e8772e", "#d63c3c"];
const state = { symbols: [], range: "7d", tiers: null, busy: 0, seq: 0 };
const $ = (id) => document.getElementById(id);
const MS = { m: 60e3, h: 3600e3, d: 86400e3 };
const durMs = (s) => parseInt(s, 10) * MS[s.slice(-1)];
const fmtUsd = (v) => v >= 1e9 ? (v / 1e9).toFixed(2) + " B" : v >= 1e6 ? (v / 1e6).toFixed(1) + " M" : v >= 1e3 ? (v / 1e3).toFixed(0) + " k" : v.toFixed(0);
const DARK = { paper_bgcolor: "#0d1117", plot_bgcolor: "#0d1117", font: { color: "#d7dde8", size: 11 } };

async function getJSON(path) {
  const r = await fetch(path);
  const body = await r.json();
  if (!r.ok) throw new Error((body.error && (body.error.param + ": " + body.error.message)) || r.statusText);
  return body;
}

function status(text, err) { $("status").textContent = text; $("status").className = err ? "sub err" : "sub"; }

function symbolInfo() { return state.symbols.find((s) => s.symbol === $("symbol").value); }
function segment() { const s = symbolInfo(); return s.segments[parseInt($("segment").value, 10)]; }

function fillSegments() {
  const s = symbolInfo();
  const sel = $("segment");
  sel.innerHTML = "";
  let best = 0;
  s.segments.forEach((g, i) => {
    const o = document.createElement("option");
    o.value = i; o.textContent = `${g.interval} ${g.first.slice(0, 10)} → ${g.last.slice(0, 16).replace("T", " ")}`;
    sel.appendChild(o);
    if (g.bars * durMs(g.interval) > s.segments[best].bars * durMs(s.segments[best].interval)) best = i;
  });
  sel.value = best;
}

function fillRanges() {
  const g = segment();
  const span = (Date.parse(g.last) - Date.parse(g.first)) / 3600e3;
  const box = $("ranges");
  box.innerHTML = "";
  let fits = RANGES.filter(([, h]) => h <= Math.max(span, 12));
  if (!fits.some(([n]) => n === state.range)) state.range = (fits[fits.length - 1] || RANGES[0])[0];
  RANGES.forEach(([name, hours], i) => {
    const b = document.createElement("button");
    b.textContent = name; b.id = "range-" + name;
    // a range is offered when the data is longer than the next shorter one (the last range may be cut short)
    b.disabled = i > 0 && RANGES[i - 1][1] >= span;
    if (name === state.range) b.className = "on";
    b.onclick = () => { state.range = name; fillRanges(); refresh(); };
    box.appendChild(b);
  });
}

function fillTiers(tiers) {
  const box = $("tiers");
  if (box.childElementCount) return;
  state.tiers = tiers.slice();
  tiers.forEach((t) => {
    const l = document.createElement("label");
    const c = document.createElement("input");
    c.type = "checkbox"; c.checked = true; c.value = t; c.id = "tier-" + t;
    c.onchange = () => { state.tiers = tiers.filter((x) => $("tier-" + x).checked); refresh(); };
    l.appendChild(c); l.appendChild(document.createTextNode(t + "x "));
    box.appendChild(l);
  });
}

function view() {
  const g = segment();
  const hours = RANGES.find(([n]) => n === state.range)[1];
  // the view ends at the last bar, or earlier at the last open-interest observation inside this stretch
  // (past it models a/b have no inputs and the ensemble drops them)
  let end = Date.parse(g.last);
  const oi = symbolInfo().kinds.open_interest;
  if (oi && Date.parse(oi.last) >= Date.parse(g.first) && Date.parse(oi.last) < end) end = Date.parse(oi.last);
  const start = Math.max(end - hours * 3600e3, Date.parse(g.first) + durMs(g.interval));
  const want = (end - start) / 300;
  const step = STEPS.find(([n, m]) => m * 60e3 >= want && m * 60e3 >= durMs(g.interval)) || STEPS[STEPS.length - 1];
  const iso = (t) => new Date(t).toISOString().slice(0, 19);
  return { start: iso(Math.ceil(start / (step[1] * 60e3)) * step[1] * 60e3), end: iso(end), every: step[0] };
}

function percentile(values, p) {
  if (!values.length) return 1;
  const v = values.slice().sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor((p / 100) * (v.length - 1)))] || 1;
}

function drawHeatmap(hm, liq) {
  const c = hm.candles;
  const lows = c.low.filter((x) => x !== null), highs = c.high.filter((x) => x !== null);
  const lo = Math.min(...lows) * 0.9, hi = Math.max(...highs) * 1.1;
  const e = hm.edges;
  let b0 = e.findIndex((x) => x >= lo); b0 = Math.max(0, b0 - 1);
  let b1 = e.findIndex((x) => x > hi); if (b1 < 0) b1 = e.length - 1;
  const nb = b1 - b0, nt = hm.times.length;
  const z = Array.from({ length: nb }, () => new Array(nt).fill(null));
  const vals = [];
  for (const side of [hm.long, hm.short]) {
    for (let i = 0; i < side.t.length; i++) {
      const b = side.b[i] - b0;
      if (b < 0 || b >= nb) continue;
      const t = side.t[i];
      z[b][t] = (z[b][t] || 0) + side.v[i];
    }
  }
  for (const row of z) for (const v of row) if (v) vals.push(v);
  const cap = percentile(vals, parseFloat($("pct").value));
  const mids = []; for (let b = b0; b < b1; b++) mids.push(0.5 * (e[b] + e[b + 1]));
  const traces = [
    { type: "heatmap", x: hm.times, y: mids, z: z, zmin: 0, zmax: cap, name: "estimated", hoverongaps: false,
      colorscale: [[0, "#1b1f4b"], [0.25, "#2f4f9e"], [0.5, "#1fa187"], [0.75, "#b5de2b"], [1, "#fde725"]],
      colorbar: { title: { text: "USDT" }, thickness: 10 }, hovertemplate: "%{x}<br>%{y:.2f}<br>%{z:.3s} USDT<extra></extra>" },
    { type: "candlestick", x: hm.times, open: c.open, high: c.high, low: c.low, close: c.close, name: "price",
      increasing: { line: { color: "#e6edf3", width: 1 } }, decreasing: { line: { color: "#8b949e", width: 1 } } },
  ];
  if (liq && liq.events.time.length) {
    const ev = liq.events, mx = Math.max(...ev.usd_value);
    traces.push({ type: "scatter", mode: "markers", x: ev.time, y: ev.price, name: "recorded liquidations",
      marker: { size: ev.usd_value.map((v) => 4 + 14 * Math.sqrt(v / mx)), color: ev.liquidated.map((s) => s === "long" ? "#3fb950" : "#ff7b72"),
        line: { color: "#000", width: 0.5 } }, text: ev.usd_value.map((v, i) => ev.liquidated[i] + " " + fmtUsd(v) + " USDT"),
      hovertemplate: "%{x}<br>%{y}<br>%{text}<extra></extra>" });
  }
  const last = c.close.filter((x) => x !== null).pop();
  const layout = Object.assign({}, DARK, {
    title: { text: `${hm.symbol} — model ${hm.model}, tiers ${hm.tiers.join("/")}x, every ${hm.assumptions.every} (colour cap p${$("pct").value} of the view)`, font: { size: 13 } },
    margin: { l: 60, r: 20, t: 36, b: 30 }, showlegend: true, legend: { orientation: "h", y: 1.02, x: 0.6 },
    xaxis: { rangeslider: { visible: false }, gridcolor: "#1d2533" }, yaxis: { gridcolor: "#1d2533", range: [lo, hi] },
    shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: last, y1: last, line: { color: "#ff4d4d", dash: "dash", width: 1 } }],
  });
  return Plotly.react("heatmap", traces, layout, { displaylogo: false, responsive: true });
}

function drawMap(lv) {
  const m = lv.map, e = m.edges, price = lv.price;
  const mids = e.slice(0, -1).map((x, i) => 0.5 * (x + e[i + 1]));
  const keep = mids.map((x) => x > price * 0.85 && x < price * 1.15);
  const y = mids.filter((_, i) => keep[i]);
  const traces = [];
  const sel = state.tiers || m.tiers;
  m.tiers.forEach((t, k) => {
    if (!sel.includes(t)) return;
    for (const side of ["long", "short"]) {
      const v = m[side][String(t)].filter((_, i) => keep[i]);
      traces.push({ type: "bar", orientation: "h", y: y, x: v, name: `${side} ${t}x`, legendgroup: String(t),
        marker: { color: TIER_COLOURS[k % TIER_COLOURS.length], opacity: side === "long" ? 1 : 0.6 },
        hovertemplate: `${side} ${t}x %{y:.2f}: %{x:.3s} USDT<extra></extra>` });
    }
  });
  traces.push({ type: "scatter", mode: "lines", y: y, x: m.cumulative_long.filter((_, i) => keep[i]), xaxis: "x2",
    name: "cumulative long", line: { color: "#3fb950", width: 2 } });
  traces.push({ type: "scatter", mode: "lines", y: y, x: m.cumulative_short.filter((_, i) => keep[i]), xaxis: "x2",
    name: "cumulative short", line: { color: "#ff7b72", width: 2 } });
  const layout = Object.assign({}, DARK, {
    title: { text: `Liquidation map at ${lv.time.slice(0, 16).replace("T", " ")} UTC — price ${price.toFixed(2)} (all tiers in the curves)`, font: { size: 13 }, y: 0.98 },
    barmode: "stack", bargap: 0, margin: { l: 60, r: 20, t: 90, b: 30 }, legend: { font: { size: 10 } },
    xaxis: { title: { text: "notional per band (USDT)" }, gridcolor: "#1d2533" },
    xaxis2: { overlaying: "x", side: "top", title: { text: "cumulative (USDT)" }, showgrid: false },
    yaxis: { gridcolor: "#1d2533" },
    shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: price, y1: price, line: { color: "#ff4d4d", dash: "dash", width: 1 } }],
  });
  return Plotly.react("map", traces, layout, { displaylogo: false, responsive: true });
}

function fillClusters(lv) {
  const body = $("clusters").querySelector("tbody");
  body.innerHTML = "";
  for (const c of lv.clusters) {
    const tiers = Object.entries(c.tiers).sort((a, b) => b[1] - a[1]);
    const tr = document.createElement("tr");
    const cells = [c.side, `${c.price_low.toFixed(2)} – ${c.price_high.toFixed(2)}`, fmtUsd(c.notional_usd),
      c.distance_bps.toFixed(0) + " bps", tiers.length ? tiers[0][0] + "x" : ""];
    cells.forEach((t, i) => { const td = document.createElement("td"); td.textContent = t; if (i === 0) td.className = c.side; tr.appendChild(td); });
    body.appendChild(tr);
  }
  const a = lv.assumptions;
  $("assumptions").textContent = `model ${a.model}; tiers ${a.tiers.map((t) => `${t.leverage}x w${t.weight} h½ ${t.half_life_hours}h`).join(", ")}; ` +
    `brackets ${a.brackets.date || "default table"}; warm-up ${a.warmup} from ${a.warmup_start.slice(0, 16)}; ` + a.notes.join("; ");
}

async function refresh() {
  const seq = ++state.seq;
  const s = symbolInfo(), v = view(), model = $("model").value;
  const tiers = (state.tiers && state.tiers.length) ? "&tiers=" + state.tiers.join(",") : "";
  status(`loading ${s.symbol} ${v.start} → ${v.end} every ${v.every}…`);
  document.body.dataset.ready = "0";
  try {
    const q = `symbol=${s.symbol}&start=${v.start}&end=${v.end}`;
    const [hm, lv, liq] = await Promise.all([
      getJSON(`/heatmap?${q}&every=${v.every}&model=${model}${tiers}`),
      getJSON(`/levels?symbol=${s.symbol}&at=${v.end}&model=${model}&top_k=10`),
      s.kinds.liquidations ? getJSON(`/liquidations?${q}`) : Promise.resolve(null),
    ]);
    if (seq !== state.seq) return;
    await drawHeatmap(hm, liq);
    await drawMap(lv);
    fillClusters(lv);
    status(`${s.symbol} ${v.start} → ${v.end} UTC, every ${v.every}, model ${model}` +
      (liq ? `, ${liq.events.time.length} recorded liquidations` : ", no liquidation recording") +
      (hm.notes.length ? " — " + hm.notes.join("; ") : ""));
    document.body.dataset.ready = "1";
  } catch (err) {
    if (seq === state.seq) { status(String(err.message || err), true); document.body.dataset.ready = "error"; }
  }
}

async function init() {
  const cat = await getJSON("/symbols");
  state.symbols = cat.symbols;
  const sel = $("symbol");
  for (const s of cat.symbols) { const o = document.createElement("option"); o.value = o.textContent = s.symbol; sel.appendChild(o); }
  fillTiers(cat.tiers);
  fillSegments(); fillRanges();
  sel.onchange = () => { fillSegments(); fillRanges(); refresh(); };
  $("segment").onchange = () => { fillRanges(); refresh(); };
  $("model").onchange = refresh;
  $("pct").onchange = refresh;
  await refresh();
}
init().catch((err) => status(String(err.message || err), true));
