"""Store materials: the per-store, per-SKU ledger, alerts, cost per customer and its anomalies.

The analyses live by concern; this module gathers them under one name:

- :func:`material_ledger` (:mod:`salesml.ops.ledger`): stock on hand per store, SKU and
  month, the store KPIs and the inventory alerts;
- :func:`store_cost_anomalies` (:mod:`salesml.ops.anomalies`): material cost per served
  customer, store x month, against the region's other stores, and a size-aware robust
  ranking of stores;
- :func:`scan_rollout` (:mod:`salesml.ops.rollout`): loss rate and transfers before and
  after the scan rollout.

The cleaned movements, their problems and served customers are in
:mod:`salesml.ops.movements`.
"""

from __future__ import annotations

from salesml.ops.anomalies import StoreAnomalyResult, store_cost_anomalies
from salesml.ops.ledger import LedgerResult, material_ledger
from salesml.ops.movements import KINDS
from salesml.ops.rollout import RolloutResult, scan_rollout

__all__ = [
    "KINDS",
    "LedgerResult",
    "RolloutResult",
    "StoreAnomalyResult",
    "material_ledger",
    "scan_rollout",
    "store_cost_anomalies",
]
