"""Peak resident memory of this process and its children, sampled in a thread.

``ru_maxrss`` sees this process or its waited-for children, not Dask workers that are
still running; a benchmark step that starts a cluster samples the tree instead::

    from bench.treepeak import TreePeak
    peak = TreePeak()          # starts sampling every 0.1 s
    ...
    peak.mib                   # largest sum of RSS seen so far
    peak.child_mib             # largest RSS of one child (a Dask worker) seen so far
    peak.stop()
"""

from __future__ import annotations

import threading
import time

import psutil


class TreePeak:
    """Samples the RSS of this process plus its children (recursively) until stopped."""

    def __init__(self, interval: float = 0.1) -> None:
        self._me = psutil.Process()
        self._interval = interval
        self._done = threading.Event()
        self.bytes = 0
        self.child_bytes = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                kids = [c.memory_info().rss for c in self._me.children(recursive=True)]
                rss = self._me.memory_info().rss + sum(kids)
            except psutil.Error:
                rss, kids = 0, []
            self.bytes = max(self.bytes, rss)
            self.child_bytes = max(self.child_bytes, *kids, 0)
            time.sleep(self._interval)

    @property
    def mib(self) -> int:
        """The peak so far, MiB."""
        return round(self.bytes / 2**20)

    @property
    def child_mib(self) -> int:
        """The largest RSS of one child process so far, MiB."""
        return round(self.child_bytes / 2**20)

    def stop(self) -> None:
        """Stop sampling."""
        self._done.set()
