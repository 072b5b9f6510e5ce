"""A toy scoring configuration (not deals): the engine layer is generic over what is scored."""

from __future__ import annotations

import pandas as pd
import pytest
from scoring_toy import LeadModel, lead_snapshots


@pytest.fixture(scope="session")
def leads() -> pd.DataFrame:
    return lead_snapshots()


@pytest.fixture(scope="session")
def lead_model(leads) -> LeadModel:
    return LeadModel().fit(leads)
