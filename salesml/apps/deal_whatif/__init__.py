"""The ``deal_whatif`` app: pick an open deal, move its drivers, watch score and reasons."""

from __future__ import annotations

from salesml.apps.deal_whatif.state import DealWhatifResult, DealWhatifState

__all__ = ["DealWhatifResult", "DealWhatifState"]
