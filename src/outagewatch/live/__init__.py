"""Live monitoring (``outagewatch watch``): RIS Live → bins → signals → detectors → alerts.

See docs/live.md. Modules: :mod:`~outagewatch.live.settings` (the ``[live]`` settings),
:mod:`~outagewatch.live.watcher` (the streaming engine, gaps), :mod:`~outagewatch.live.checkpoint`
(atomic checkpoints), :mod:`~outagewatch.live.detection` (incremental detectors),
:mod:`~outagewatch.live.metrics` (lag and counters), :mod:`~outagewatch.live.run` (wiring) and
:mod:`~outagewatch.live.replay` (a local RIS Live server replaying element tables).
"""
