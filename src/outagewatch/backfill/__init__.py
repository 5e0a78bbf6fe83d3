"""outagewatch.backfill: RIPE RIS / RouteViews archives for any window, fetched and processed.

- :mod:`~outagewatch.backfill.collectors` — the public collectors and their archive directories;
- :mod:`~outagewatch.backfill.layout` — file names, schedules and history of both archives (pure);
- :mod:`~outagewatch.backfill.plan` — window → per-collector RIB + update files, (collector,
  slice) tasks (pure);
- :mod:`~outagewatch.backfill.discover` — plans from real directory listings;
- :mod:`~outagewatch.backfill.download`, :mod:`~outagewatch.backfill.verify` — the verified,
  resumable, parallel download cache;
- :mod:`~outagewatch.backfill.fetch` — the download phase of ``outagewatch backfill``;
- :mod:`~outagewatch.backfill.process` — the processing phase (local engine or Dask), detection
  and the store.

See docs/backfill.md and docs/scale.md.
"""
