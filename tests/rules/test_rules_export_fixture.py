"""Tiering, follow-ups and messages on a small hand-made export (USD, missing columns, a typo)."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesml.data.io import load_dataset
from salesml.rules import due_followups, tier_customers
from salesml.rules.cli import _mentions
from salesml.rules.notify import compose_messages

FIXTURE = Path(__file__).parent / "fixtures" / "us_export"
AS_OF = "2026-03-10"


@pytest.fixture(scope="module")
def export():
    return load_dataset(FIXTURE, progress=False)


def test_the_typo_row_is_quarantined_not_lost(export):
    q = export.quarantine
    assert len(q) == 1 and q.iloc[0]["table"] == "deals" and q.iloc[0]["column"] == "stage"
    assert set(export.deals["deal_id"]) == {"D1", "D2", "D3", "D4", "D5"}


def test_tiers_on_the_export(export):
    r = tier_customers(export, as_of=AS_OF, history_months=3)
    t = r.table
    # U1: 240,000 signed in the last 90 days (81,167 a month), 3 purchases -> 2/3 repeat
    assert t.loc["U1", "tier"] == "A"
    assert t.loc["U1", "monthly_purchase"] == pytest.approx(240000 / (90 / 30.4375))
    assert t.loc["U1", "repurchase_rate"] == pytest.approx(2 / 3)
    assert "月采购额 = 81,167" in t.loc["U1", "why"]
    assert set(t.loc[["U2", "U3"], "tier"]) == {"C"}
    # U1 became A when its third contract was signed (February), from C
    h = r.history
    assert h[h["customer_id"] == "U1"]["tier_to"].tolist()[-1] == "A"


def test_followups_on_the_export(export):
    r = due_followups(export, as_of=AS_OF, lang="en")
    tb = r.table.set_index("subject_id")
    assert set(tb.index) == {"Q1", "Q2", "K1", "U1"}
    assert tb.loc["Q1", "status"] == "open" and tb.loc["Q1", "owner_id"] == "S2"
    assert tb.loc["Q2", "status"] == "done"  # answered four days after the view
    assert tb.loc["K1", "kind"] == "escalation" and tb.loc["K1", "owner_id"] == "M1"
    assert "38 days past its payment date" in tb.loc["K1", "reason"]
    # the tier-A customer goes to the senior rep of the East (S2 was hired 9 months ago)
    assert tb.loc["U1", "kind"] == "dispatch" and tb.loc["U1", "owner_id"] == "S1"
    # no approvals table: that rule is skipped and said so; no quality column: no visit leads
    assert any("approvals" in s for s in r.key_findings("en"))
    assert "¥" not in " ".join(r.table["reason"]) + " ".join(r.table["script"])


def test_messages_mention_the_reps_wecom_ids(export):
    r = due_followups(export, as_of=AS_OF, lang="zh")
    msgs = compose_messages(r.open(), platform="wecom", lang="zh", mentions=_mentions(export, {}))
    by = {m.recipient: m for m in msgs}
    assert "<@scarter>" in by["S1"].text and "<@mlopez>" in by["M1"].text
    assert "<@" not in by["S2"].text  # no id known: named, not mentioned
    d = compose_messages(r.open(), platform="dingtalk", lang="zh", mentions=_mentions(export, {}))
    s1 = next(m for m in d if m.recipient == "S1")
    assert s1.mention_ids == () and s1.mention_mobiles == ("+1-555-0101",)
    assert "@+1-555-0101" in s1.text
