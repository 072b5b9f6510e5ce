"""Save and load a fitted :class:`~salesml.health.model.DealHealthModel`.

A saved model is a folder holding ``model.json`` (settings, metadata, encoder,
calibrator, logistic coefficients) and, for the LightGBM engine, ``booster.txt``
(LightGBM's own text format). Nothing is pickled, so loading a model file cannot
run code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from salesml.health.model import DealHealthModel

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]

#: Version of the on-disk layout.
FORMAT_VERSION = 1
_SETTINGS = (
    "min_closed_deals",
    "min_small_deals",
    "calibration",
    "calibration_share",
    "bands",
    "n_estimators",
    "learning_rate",
    "num_leaves",
    "max_depth",
    "monotone",
    "n_jobs",
    "min_child_samples",
    "ridge",
    "random_state",
    "features",
)


def _ts(x: pd.Timestamp | None) -> str | None:
    return None if x is None else pd.Timestamp(x).isoformat()


def save_model(model: DealHealthModel, path: str | Path) -> Path:
    """Write ``model`` to the folder ``path`` (created if needed); returns the folder."""
    model._check_fitted()
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": "salesml.health.DealHealthModel",
        "settings": {k: getattr(model, k) for k in _SETTINGS},
        "engine": model.engine_,
        "features": list(model.features_),
        "encoder": model.encoder_.to_dict(),
        "calibrator": model.calibrator_,
        "training_window": [_ts(t) for t in model.training_window_],
        "calibration_window": (
            None
            if model.calibration_window_ is None
            else [_ts(t) for t in model.calibration_window_]
        ),
        "n_closed_deals": model.n_closed_deals_,
        "n_rows": model.n_rows_,
        "n_train_rows": model.n_train_rows_,
        "n_calibration_rows": model.n_calibration_rows_,
        "base_rate": model.base_rate_,
        "horizon_days": model.horizon_days_,
        "salesml_version": model.salesml_version_,
        "data_fingerprint": model.data_fingerprint_,
        "split": model.split_,
        "notes": list(model.notes_),
    }
    if model.engine_ == "lightgbm":
        meta["cal_grid"] = np.asarray(model.cal_grid_).tolist()
        (folder / "booster.txt").write_text(model.booster_.model_to_string(), encoding="utf-8")
    else:
        meta["logistic"] = {
            "coef": model.coef_.tolist(),
            "cov": model.cov_.tolist(),
            "coef_names": model.coef_names_,
            "center": model.center_.tolist(),
            "scale": model.scale_.tolist(),
            "signal_rules": model.signal_rules_,
            "extra_required": model.extra_required_,
        }
    (folder / "model.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return folder


def load_model(path: str | Path) -> DealHealthModel:
    """Read a model written by :func:`save_model`.

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no ``model.json``.
    ValueError
        When the file is not a deal-health model or has an unknown format version.
    """
    import lightgbm as lgb

    from salesml.health.model import DealHealthModel, _Encoder

    folder = Path(path)
    meta_path = folder / "model.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{folder} holds no model.json: not a saved DealHealthModel")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("kind") != "salesml.health.DealHealthModel":
        raise ValueError(f"{meta_path} is not a saved DealHealthModel")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{meta_path} has format version {meta.get('format_version')}; this salesml reads "
            f"version {FORMAT_VERSION}"
        )
    settings = dict(meta["settings"])
    settings["bands"] = tuple(settings["bands"])
    model = DealHealthModel(**settings)
    model.engine_ = meta["engine"]
    model.encoder_ = _Encoder.from_dict(meta["encoder"])
    model.features_ = list(meta["features"])
    model.calibrator_ = meta["calibrator"]
    model.training_window_ = tuple(pd.Timestamp(t) for t in meta["training_window"])
    cw = meta["calibration_window"]
    model.calibration_window_ = None if cw is None else tuple(pd.Timestamp(t) for t in cw)
    model.n_closed_deals_ = meta["n_closed_deals"]
    model.n_rows_ = meta["n_rows"]
    model.n_train_rows_ = meta["n_train_rows"]
    model.n_calibration_rows_ = meta["n_calibration_rows"]
    model.base_rate_ = meta["base_rate"]
    model.horizon_days_ = meta["horizon_days"]
    model.salesml_version_ = meta["salesml_version"]
    model.data_fingerprint_ = meta["data_fingerprint"]
    model.split_ = meta["split"]
    model.notes_ = list(meta["notes"])
    if model.engine_ == "lightgbm":
        model.cal_grid_ = np.asarray(meta["cal_grid"])
        model.booster_ = lgb.Booster(model_str=(folder / "booster.txt").read_text(encoding="utf-8"))
    else:
        lg = meta["logistic"]
        model.coef_ = np.asarray(lg["coef"])
        model.cov_ = np.asarray(lg["cov"])
        model.coef_names_ = list(lg["coef_names"])
        model.center_ = np.asarray(lg["center"])
        model.scale_ = np.asarray(lg["scale"])
        model.signal_rules_ = list(lg["signal_rules"])
        model.extra_required_ = list(lg["extra_required"])
    return model
