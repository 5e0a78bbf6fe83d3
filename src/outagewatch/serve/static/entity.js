// Entity page: visibility, prefixes, churn and upstream charts with events shaded; range picker; links.
"use strict";

(function () {
  const parts = location.pathname.split("/").slice(2);
  const type = decodeURIComponent(parts[0]);
  const id = decodeURIComponent(parts.slice(1).join("/"));
  const params = new URLSearchParams(location.search);
  const THRESHOLD = OW.thresholdLabel;
  const levels = OW.thresholdTrace;

  function setRange(start, end) {
    const q = new URLSearchParams();
    if (start) q.set("start", start);
    if (end) q.set("end", end);
    location.search = q.toString();
  }

  document.getElementById("apply").addEventListener("click", () =>
    setRange(OW.fromInput(document.getElementById("start").value), OW.fromInput(document.getElementById("end").value)));

  function linkList(label, type, items, key, total) {
    if (!items.length) return null;
    const more = total > items.length ? [" … and " + (total - items.length) + " more"] : [];
    return OW.el("span", {}, label + ": ", items.flatMap((it, i) => [i ? ", " : "", OW.entityLink(type, it[key || "entity"],
      type === "as" && it.name ? "AS" + it.entity + " " + it.name : undefined)]), more);
  }

  function renderHeader(info) {
    document.title = "outagewatch — " + OW.label(type, id);
    document.getElementById("title").textContent = OW.label(type, id) + (info.name ? " — " + info.name : "");
    const status = document.getElementById("status");
    status.replaceChildren(OW.badge(info.status), " at " + OW.fmtTime(info.at) + " · " + type +
      " · data " + OW.fmtTime(info.first_bin) + " → " + OW.fmtTime(info.data_end));
    const r = info.related;
    const items = [linkList("Country", "country", r.countries), linkList("ASes", "as", r.ases, "entity", r.totals.ases),
      linkList("Prefixes", "prefix", r.prefixes, "prefix", r.totals.prefixes)].filter(Boolean);
    document.getElementById("links").replaceChildren(...(items.length ? items : [OW.el("span", { class: "muted" }, "No linked entities.")]));
  }

  function eventsTable(events) {
    if (!events.length) return OW.el("p", { class: "muted" }, "No events for this entity in this range.");
    return OW.el("table", {}, OW.el("thead", {}, OW.el("tr", {}, ["Kind", "Severity", "Start", "End", "Duration", "Summary"].map((h) => OW.el("th", {}, h)))),
      OW.el("tbody", {}, events.map((e) => OW.el("tr", { "data-event": e.event_id },
        OW.el("td", {}, e.kind + (e.scope ? " (" + e.scope + ")" : "")), OW.el("td", {}, OW.badge(e.severity)),
        OW.el("td", {}, OW.fmtTime(e.start)), OW.el("td", {}, e.end ? OW.fmtTime(e.end) : "open"),
        OW.el("td", {}, OW.fmtDuration(e.duration_seconds)),
        OW.el("td", {}, OW.el("a", { href: "/event/" + e.event_id }, e.summary))))));
  }

  async function main() {
    const info = await OW.api("entities/" + type + "/" + id);
    renderHeader(info);
    const end = params.get("end") || info.data_end;
    const start = params.get("start") || (end ? new Date(Date.parse(end) - 3 * 86400e3).toISOString().replace(".000Z", "Z") : "");
    document.getElementById("start").value = OW.toInput(start);
    document.getElementById("end").value = OW.toInput(end);
    for (const b of document.querySelectorAll("button[data-days]")) {
      b.addEventListener("click", () => {
        const e = info.data_end || end;
        setRange(new Date(Date.parse(e) - Number(b.dataset.days) * 86400e3).toISOString().replace(".000Z", "Z"), e);
      });
    }
    const range = { entity_type: type, entity: id, start: start, end: end };
    const [sig, ev] = await Promise.all([
      OW.api("signals", Object.assign({ metric: ["ipv4.visible_slash24.*", "ipv4.visible_prefixes.*", "all.*", "upstream.*"] }, range)),
      OW.api("events", { entity_type: type, entity: id, start: start, end: end, limit: 200 }),
    ]);
    document.getElementById("bin").textContent = "bin " + sig.bin_seconds / 60 + " min" +
      (sig.bin_seconds > sig.stored_bin_seconds ? " (levels: minimum per bin, counts: sum)" : "");
    const pick = (p) => sig.series.filter((s) => s.metric.startsWith(p));
    const common = { events: ev.items, windowStart: start, windowEnd: end };
    await Promise.all([
      OW.drawSeries("chart-visibility", pick("ipv4.visible_slash24."), Object.assign({ title: "Visible IPv4 /24-equivalents, by share of full-feed peers", name: THRESHOLD, trace: levels }, common)),
      OW.drawSeries("chart-prefixes", pick("ipv4.visible_prefixes."), Object.assign({ title: "Visible IPv4 prefixes", name: THRESHOLD, trace: levels }, common)),
      OW.drawSeries("chart-churn", pick("all.").filter((s) => !["all.updates", "all.peers_reporting"].includes(s.metric)),
        Object.assign({ title: "Churn: updates per bin", name: (m) => m.slice(4).replace("_", " "), trace: () => ({ type: "bar", line: undefined, mode: undefined }),
          layout: { barmode: "stack" } }, common)),
      OW.drawSeries("chart-upstreams", pick("upstream.").filter((s) => s.metric.endsWith(".share")),
        Object.assign({ title: "Upstream shares (neighbour of the origin carrying the routes)", name: (m) => "AS" + m.split(".")[1],
          trace: () => ({ stackgroup: "up", line: { shape: "hv", width: 1 } }), layout: { yaxis: { range: [0, 1.05], tickformat: ".0%" } } }, common)),
    ]);
    document.getElementById("events").replaceChildren(eventsTable(ev.items));
    document.body.dataset.ready = "1";
  }

  main().catch((err) => { OW.showError(document.getElementById("events"), err); document.getElementById("title").textContent = OW.label(type, id); document.body.dataset.ready = "error"; });
})();
