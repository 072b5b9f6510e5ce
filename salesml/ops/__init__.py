"""Operations: compliance approvals and audit packs, store materials, deal war rooms.

Every analysis follows the contract of :mod:`salesml.results`
(``f(data, *, period=None, as_of=None, filters=None, ...)`` returning a result object)::

    from salesml.ops import approval_sla, store_cost_anomalies, war_room
    approval_sla(data).breaches          # steps past their SLA (dataset.yaml approval_sla_hours)
    store_cost_anomalies(data).flagged    # stores spending abnormally per served customer
    war_room(data).overview               # war-room share, response time, unanswered requests

Audit packs: :func:`write_audit_pack` / :func:`verify_audit_pack`
(``salesml audit pack`` / ``salesml audit verify``).
"""

from __future__ import annotations

from salesml.ops.audit import AuditPack, Verification, verify_audit_pack, write_audit_pack
from salesml.ops.compliance import ApprovalResult, BusinessCalendar, approval_sla
from salesml.ops.materials import (
    LedgerResult,
    RolloutResult,
    StoreAnomalyResult,
    material_ledger,
    scan_rollout,
    store_cost_anomalies,
)
from salesml.ops.warroom import ImpactResult, WarRoomResult, war_room, war_room_impact

__all__ = [
    "ApprovalResult",
    "AuditPack",
    "BusinessCalendar",
    "ImpactResult",
    "LedgerResult",
    "RolloutResult",
    "StoreAnomalyResult",
    "Verification",
    "WarRoomResult",
    "approval_sla",
    "material_ledger",
    "scan_rollout",
    "store_cost_anomalies",
    "verify_audit_pack",
    "war_room",
    "war_room_impact",
    "write_audit_pack",
]
