// Event page: report text, start/end/duration, affected prefixes, charts around the event.
"use strict";

(function () {
  const eventId = decodeURIComponent(location.pathname.split("/").pop());
  const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");

  function facts(e) {
    const rows = [["Entity", OW.entityLink(e.entity_type, e.entity)], ["Kind", e.kind + (e.scope ? " (" + e.scope + ")" : "")],
      ["Severity", OW.badge(e.severity)], ["Status", OW.badge(e.status)], ["Start", OW.fmtTime(e.start)],
      ["End", e.end ? OW.fmtTime(e.end) : "still open"], ["Duration", OW.fmtDuration(e.duration_seconds)],
      ["Score", e.score === null ? "—" : String(e.score)], ["Event id", e.event_id]];
    return rows.flatMap(([k, v]) => [OW.el("dt", {}, k), OW.el("dd", { "data-fact": k.toLowerCase() }, v)]);
  }

  async function main() {
    const e = await OW.api("events/" + eventId);
    document.title = "outagewatch — " + e.kind + " " + OW.label(e.entity_type, e.entity);
    document.getElementById("title").textContent = e.summary;
    document.getElementById("facts").replaceChildren(...facts(e));
    document.getElementById("report").textContent = e.report;
    const pfx = e.affected_prefixes || [];
    document.getElementById("prefixes").replaceChildren(pfx.length
      ? OW.el("ul", {}, pfx.map((p) => OW.el("li", {}, OW.entityLink("prefix", p))))
      : OW.el("p", { class: "muted" }, "None listed in the evidence."));
    const t0 = Date.parse(e.start), t1 = e.end ? Date.parse(e.end) : t0 + 6 * 3600e3;
    const pad = Math.max(6 * 3600e3, (t1 - t0) / 2);
    const range = { entity_type: e.entity_type, entity: e.entity, start: iso(t0 - pad), end: iso(t1 + pad) };
    const sig = await OW.api("signals", Object.assign({ metric: ["ipv4.visible_slash24.*", "all.announcements", "all.withdrawals"] }, range));
    const pick = (p) => sig.series.filter((s) => s.metric.startsWith(p));
    const opts = { events: [e], windowStart: range.start, windowEnd: range.end };
    await Promise.all([
      OW.drawSeries("chart-event", pick("ipv4.visible_slash24."), Object.assign({ title: "Visible /24s around the event", name: OW.thresholdLabel, trace: OW.thresholdTrace }, opts)),
      OW.drawSeries("chart-event-churn", pick("all."), Object.assign({ title: "Announcements and withdrawals", name: (m) => m.slice(4),
        trace: () => ({ type: "bar", mode: undefined }), layout: { barmode: "stack" } }, opts)),
    ]);
    document.body.dataset.ready = "1";
  }

  main().catch((err) => { OW.showError(document.getElementById("report"), err); document.getElementById("title").textContent = "Event " + eventId; document.body.dataset.ready = "error"; });
})();
