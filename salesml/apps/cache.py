"""Fitted models the apps reuse across kernels, keyed by dataset fingerprint and instant.

The deal what-if app fits the deal-health model of its review instant before its
first render (the ``deal_health_weekly`` report's fit: tens of seconds on a busy
machine). The fitted model is saved once per dataset content and instant in a
private folder and loaded by every later kernel: the same model, so the same
scores, in a fraction of the time.

The folder is ``$SALESML_CACHE/models`` (default ``~/.cache/salesml/models``),
created ``0700`` and used only when it belongs to this user and nobody else can
write to it. Models are JSON (:mod:`salesml.scoring.persistence`): loading one runs
no code. An unreadable entry is refitted and replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from salesml.data.bundle import SalesData

__all__ = ["ModelCache", "cached_deal_health", "models_dir"]

log = logging.getLogger(__name__)
#: Bump when the meaning of a cached model changes (features, defaults).
FORMAT = "deal-health-1"


def models_dir() -> Path | None:
    """The private folder of cached models, or ``None`` when it is not safe to use."""
    base = os.environ.get("SALESML_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "salesml",
    )
    folder = Path(base) / "models"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = folder.stat()
    except OSError as e:
        log.warning("model cache %s not usable: %s", folder, e)
        return None
    if hasattr(os, "getuid") and (
        st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        log.warning("model cache %s is not private to this user: not used", folder)
        return None
    return folder


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers for JSON."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _key(data: SalesData, as_of: pd.Timestamp) -> str:
    from salesml import __version__

    text = f"{FORMAT}|{__version__}|{data.fingerprint()}|{pd.Timestamp(as_of).isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cached_deal_health(data: SalesData, *, as_of: pd.Timestamp) -> tuple[object, bool]:
    """The deal-health model fit as of ``as_of`` on ``data``: ``(model, from_cache)``.

    On a miss the model is fitted with :func:`salesml.health.fit_as_of` (as the
    report does) and saved for the next kernel; without a usable cache folder it is
    simply fitted.
    """
    return ModelCache(data, as_of=as_of).deal_health()


class ModelCache:
    """The cache entry of one dataset content and instant (:func:`models_dir` / key).

    Parameters
    ----------
    data
        The dataset (its fingerprint is computed once, here).
    as_of
        The review instant.
    """

    def __init__(self, data: SalesData, *, as_of: pd.Timestamp) -> None:
        self.data = data
        self.as_of = pd.Timestamp(as_of)
        folder = models_dir()
        self.folder = folder
        self.entry = folder / _key(data, self.as_of) if folder is not None else None

    def deal_health(self) -> tuple[object, bool]:
        """The fitted deal-health model and whether it came from the cache."""
        from salesml.health import fit_as_of
        from salesml.health.persistence import load_model, save_model

        entry = self.entry
        if entry is not None and (entry / "model.json").exists():
            try:
                return load_model(entry), True
            except (OSError, ValueError, KeyError) as e:
                log.warning("cached model %s unreadable (%s): refitting", entry.name, e)
                shutil.rmtree(entry, ignore_errors=True)
        model = fit_as_of(self.data, as_of=self.as_of).model
        if entry is not None and self.folder is not None:
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder))
            try:
                save_model(model, tmp)
                os.replace(tmp, entry)  # atomic: another kernel sees all of it or nothing
            except OSError as e:
                log.warning("could not cache the model (%s)", e)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return model, False

    def read_json(self, name: str) -> Any:
        """A JSON document saved next to the model (``None`` when absent or unreadable)."""
        if self.entry is None:
            return None
        try:
            return json.loads((self.entry / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_json(self, name: str, value: Any) -> None:
        """Save a JSON document next to the model (atomically; skipped without an entry)."""
        if self.entry is None or not self.entry.is_dir():
            return
        tmp = self.entry / f".tmp-{os.getpid()}-{name}"
        try:
            tmp.write_text(json.dumps(value, default=_plain), encoding="utf-8")
            os.replace(tmp, self.entry / name)
        except (OSError, TypeError) as e:
            log.warning("could not cache %s (%s)", name, e)
            tmp.unlink(missing_ok=True)
