// Overview: every country with its status at `?at=` (default: latest bin), events first.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const at = params.get("at");
  const input = document.getElementById("at");

  document.getElementById("at-apply").addEventListener("click", () => {
    const value = OW.fromInput(input.value);
    location.search = value ? "?at=" + encodeURIComponent(value) : "";
  });
  document.getElementById("at-latest").addEventListener("click", () => { location.search = ""; });

  function midpoint(e) {
    const t = (Date.parse(e.start) + Date.parse(e.end)) / 2;
    return new Date(Math.floor(t / 300e3) * 300e3).toISOString().replace(".000Z", "Z");
  }

  function eventsTable(events, id, none) {
    if (!events.length) return OW.el("p", { class: "muted" }, none);
    const rows = events.map((e) => OW.el("tr", { "data-event": e.event_id },
      OW.el("td", {}, OW.badge(e.kind === "outage" ? (e.scope === "partial" ? "partial" : "outage") : e.severity)),
      OW.el("td", {}, OW.entityLink(e.entity_type, e.entity)),
      OW.el("td", {}, OW.el("a", { href: "/event/" + e.event_id }, e.summary)),
      OW.el("td", {}, OW.fmtTime(e.start)),
      OW.el("td", {}, e.end ? OW.fmtTime(e.end) : "open"),
      OW.el("td", {}, id === "recent" && e.end ? OW.el("a", { href: "/?at=" + midpoint(e), title: "the overview during this event" }, "view then") : "")));
    return OW.el("table", { id: id },
      OW.el("thead", {}, OW.el("tr", {}, ["", "Entity", "Event", "Start", "End", ""].map((h) => OW.el("th", {}, h)))),
      OW.el("tbody", {}, rows));
  }

  function sparkline(div, spark, status) {
    const colour = { outage: "#c0262d", partial: "#e07b00", unstable: "#b8a100" }[status] || "#2e8540";
    Plotly.newPlot(div, [{ x: spark.t.map(OW.plotTime), y: spark.v, type: "scatter", mode: "lines",
      line: { color: colour, width: 1.5, shape: "hv" }, fill: "tozeroy", fillcolor: colour + "22" }],
    { margin: { l: 0, r: 0, t: 0, b: 0 }, xaxis: { visible: false }, yaxis: { visible: false, rangemode: "tozero" },
      showlegend: false }, { staticPlot: true, displayModeBar: false });
  }

  function countryRow(c) {
    const spark = OW.el("div", { class: "spark", "data-points": c.sparkline.v.length });
    const last = c.sparkline.last, share = c.sparkline.share_of_peak;
    const row = OW.el("tr", { "data-entity": c.entity, "data-status": c.status },
      OW.el("td", {}, OW.badge(c.status)),
      OW.el("td", {}, OW.entityLink("country", c.entity)),
      OW.el("td", {}, c.name || ""),
      OW.el("td", { class: "num" }, last === null ? "—" : Math.round(last).toLocaleString("en")),
      OW.el("td", { class: "num" + (share !== null && share < 0.9 ? " low" : "") }, share === null ? "—" : Math.round(share * 100) + "%"),
      OW.el("td", {}, spark));
    return [row, spark];
  }

  OW.api("overview", { at: at }).then((data) => {
    input.value = OW.toInput(data.at);
    document.getElementById("at-shown").textContent = data.at ? "showing " + OW.fmtTime(data.at) : "store is empty";
    document.getElementById("active-events").replaceChildren(
      eventsTable(data.active_events, "events", "No outage or instability events at this time."));
    document.getElementById("recent-events").replaceChildren(
      eventsTable(data.recent_events, "recent", "None."));
    const body = document.querySelector("#countries tbody");
    body.replaceChildren();
    const sparks = [];
    for (const c of data.countries) {
      const [row, spark] = countryRow(c);
      body.append(row);
      sparks.push([spark, c]);
    }
    if (!data.countries.length) body.append(OW.el("tr", {}, OW.el("td", { colspan: 6, class: "muted" }, "No countries in this store.")));
    // Sparklines are drawn when their row scrolls into view: hundreds of countries stay fast.
    const pending = new Map(sparks.filter(([, c]) => c.sparkline.v.length));
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting || !pending.has(entry.target)) continue;
        const c = pending.get(entry.target);
        pending.delete(entry.target);
        observer.unobserve(entry.target);
        sparkline(entry.target, c.sparkline, c.status);
      }
    }, { rootMargin: "300px" });
    for (const div of pending.keys()) observer.observe(div);
    requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.ready = "1"; }));
  }).catch((err) => { OW.showError(document.getElementById("active-events"), err); document.body.dataset.ready = "error"; });
})();
