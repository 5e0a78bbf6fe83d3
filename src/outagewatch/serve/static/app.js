// Shared helpers for the outagewatch dashboard pages (no framework; charts by plotly.js).
"use strict";

const OW = {
  api(path, params) {
    const url = new URL("/api/v1/" + path, location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v === null || v === undefined || v === "") continue;
      for (const item of [].concat(v)) url.searchParams.append(k, item);
    }
    return fetch(url).then(async (r) => {
      const body = await r.json();
      if (!r.ok) throw new Error((body.error && body.error.message) || r.statusText);
      return body;
    });
  },

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
    return node;
  },

  badge(text) { return OW.el("span", { class: "badge " + text }, text); },

  entityUrl(type, id) { return "/entity/" + type + "/" + id; },

  entityLink(type, id, label) { return OW.el("a", { href: OW.entityUrl(type, id) }, label || OW.label(type, id)); },

  // "ipv4.visible_slash24.ff_50pct" → "≥50% of full-feed peers"
  thresholdLabel(metric) {
    const t = metric.split(".").pop();
    if (t === "ff_any") return "≥1 full-feed peer";
    const m = /^(ff|asn)_(\d+)pct$/.exec(t);
    return m ? "≥" + m[2] + "% of full-feed " + (m[1] === "ff" ? "peers" : "peer ASNs") : metric;
  },

  // Thresholds drawn at first; the others are one legend click away.
  SHOWN_THRESHOLDS: new Set(["ff_any", "ff_50pct", "ff_100pct", "asn_50pct"]),
  thresholdTrace(metric) { return { visible: OW.SHOWN_THRESHOLDS.has(metric.split(".").pop()) ? true : "legendonly" }; },

  label(type, id) { return type === "as" ? "AS" + id : id; },

  // plotly.js has no time zones: give it naive UTC strings and label the axes "UTC".
  plotTime(iso) { return iso ? iso.replace("Z", "") : iso; },

  fmtTime(iso) { return iso ? iso.replace("T", " ").replace(":00Z", " UTC") : "—"; },

  fmtDuration(s) {
    if (s === null || s === undefined) return "ongoing";
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min`;
  },

  // datetime-local inputs hold UTC wall-clock times on these pages.
  toInput(iso) { return iso ? iso.slice(0, 16) : ""; },
  fromInput(value) { return value ? value + ":00Z" : ""; },

  KIND_COLOURS: { outage: "rgba(192,38,45,0.18)", instability: "rgba(184,161,0,0.18)",
    upstream_change: "rgba(31,95,191,0.14)", single_upstream: "rgba(120,120,120,0.06)" },

  eventShapes(events, windowEnd) {
    return events.filter((e) => e.kind !== "single_upstream").map((e) => ({
      type: "rect", xref: "x", yref: "paper", layer: "below", line: { width: 0 },
      x0: OW.plotTime(e.start), x1: OW.plotTime(e.end || windowEnd), y0: 0, y1: 1,
      fillcolor: OW.KIND_COLOURS[e.kind] || "rgba(0,0,0,0.08)",
    }));
  },

  eventAnnotations(events) {
    return events.filter((e) => e.kind !== "single_upstream").map((e) => ({
      x: OW.plotTime(e.start), xref: "x", y: 1, yref: "paper", yanchor: "bottom", showarrow: false,
      text: e.kind + (e.scope ? " (" + e.scope + ")" : ""), font: { size: 10, color: "#555" },
    }));
  },

  baseLayout(title, events, windowEnd, windowStart) {
    return {
      title: { text: title + " — UTC", font: { size: 14 }, x: 0, xanchor: "left" },
      margin: { l: 56, r: 16, t: 40, b: 36 }, hovermode: "x unified",
      // the window, not the events' shading, sets the time axis
      xaxis: windowStart && windowEnd ? { type: "date", range: [OW.plotTime(windowStart), OW.plotTime(windowEnd)] } : { type: "date" }, legend: { orientation: "h", y: -0.18 }, showlegend: true,
      shapes: OW.eventShapes(events, windowEnd), annotations: OW.eventAnnotations(events),
    };
  },

  // Draw one chart from API series; returns a promise that resolves once plotly has drawn it.
  drawSeries(div, series, opts) {
    const traces = series.map((s) => Object.assign({
      x: s.t.map(OW.plotTime), y: s.v, name: opts.name ? opts.name(s.metric) : s.metric,
      type: "scatter", mode: "lines", line: { shape: "hv", width: 2 }, meta: s.metric,
    }, opts.trace ? opts.trace(s.metric) : {}));
    const layout = OW.baseLayout(opts.title, opts.events || [], opts.windowEnd, opts.windowStart);
    Object.assign(layout, opts.layout || {});
    if (!traces.length) layout.annotations = [{ text: "no data", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }];
    return Plotly.newPlot(div, traces, layout, { responsive: true, displaylogo: false });
  },

  showError(where, err) { where.replaceChildren(OW.el("p", { class: "error" }, String(err.message || err))); },
};
