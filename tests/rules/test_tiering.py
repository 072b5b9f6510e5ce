"""Customer metrics and tiering: values recomputed from the raw tables, first match, errors with carets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.rules.metrics import customer_metrics, metric_aliases
from salesml.rules.rulefile import RuleError
from salesml.rules.tiering import TierRules, tier_customers

AS_OF = pd.Timestamp("2026-06-15 12:00")


@pytest.fixture(scope="module")
def metrics(demo_data):
    data, _ = demo_data
    return customer_metrics(data, as_of=AS_OF)


def test_aliases_are_the_catalog_words():
    al = metric_aliases()
    assert al["月采购额"] == "monthly_purchase"
    assert al["复购率"] == "repurchase_rate"
    assert al["未跟进天数"] == "days_since_touch"


def test_metrics_recomputed_from_raw_tables(demo_data, metrics):
    data, _ = demo_data
    k = data.contracts.merge(data.deals[["deal_id", "customer_id"]], on="deal_id")
    age = (AS_OF - k["signed_at"]).dt.total_seconds() / 86400
    known = k[age >= 0]
    win = known[age[age >= 0] <= 90].groupby("customer_id")["amount"].sum() / (90 / 30.4375)
    n12 = known[age[age >= 0] <= 365].groupby("customer_id").size()
    got = metrics["monthly_purchase"]
    assert np.allclose(got.reindex(win.index).to_numpy(), win.to_numpy())
    assert (got.drop(win.index, errors="ignore") == 0).all()
    rr = ((n12 - 1) / n12).reindex(metrics.index).fillna(0.0)
    assert np.allclose(metrics["repurchase_rate"].to_numpy(), rr.to_numpy())
    a = data.activities[data.activities["occurred_at"] <= AS_OF]
    last = a.groupby("customer_id")["occurred_at"].max()
    days = (AS_OF - last).dt.total_seconds() / 86400
    assert np.allclose(metrics["days_since_touch"].reindex(days.index).to_numpy(), days.to_numpy())
    # customers created after the date are not there yet
    created = data.customers.set_index("customer_id")["created_at"]
    assert set(metrics.index) == set(created[created <= AS_OF].index)


def test_metrics_use_nothing_after_as_of(demo_data, metrics):
    data, _ = demo_data
    cut = customer_metrics(data.as_of(AS_OF), as_of=AS_OF)
    pd.testing.assert_frame_equal(metrics, cut.loc[metrics.index], check_dtype=False)


def test_first_match_wins_with_chinese_aliases(demo_data, metrics):
    data, _ = demo_data
    rules = """
tiers:
  - tier: A
    when: 月采购额 > 50000 and 复购率 > 0.6
  - tier: B
    when: 月采购额 > 10000
  - tier: S
    when: 月采购额 > 100000
default: C
"""
    r = tier_customers(data, rules=rules, as_of=AS_OF, history_months=0)
    m = metrics
    a = (m["monthly_purchase"] > 50000) & (m["repurchase_rate"] > 0.6)
    b = ~a & (m["monthly_purchase"] > 10000)
    expect = np.where(a, "A", np.where(b, "B", "C"))
    assert (r.table["tier"].to_numpy() == expect).all()
    assert a.sum() > 0 and b.sum() > 0
    # the S rule comes after B and can never fire: first match wins
    assert (r.table["tier"] != "S").all()
    fired = r.table[r.table["tier"] == "A"].iloc[0]
    assert fired["rule"] == 1 and fired["rule_text"].startswith("月采购额")
    assert "月采购额 = " in fired["why"] and "复购率 = " in fired["why"]
    assert set(r.table.loc[r.table["tier"] == "C", "rule"]) == {0}


def test_history_moves_both_ways_and_ends_at_the_current_tier(demo_data):
    data, _ = demo_data
    r = tier_customers(data, as_of=AS_OF, history_months=10)
    h = r.history
    assert {"up", "down"} <= set(h["direction"])
    assert (h["at"] <= AS_OF).all()
    rank = {name: i for i, name in enumerate(r.rules.tiers)}
    up = h["tier_to"].map(rank) < h["tier_from"].map(rank)
    assert ((h["direction"] == "up") == up).all()
    last = h.sort_values("at").groupby("customer_id").last()
    assert (last["tier_to"] == r.table.loc[last.index, "tier"]).all()
    # a customer's consecutive moves chain: each starts where the previous ended
    for _, g in h.sort_values("at").groupby("customer_id"):
        assert (g["tier_from"].to_numpy()[1:] == g["tier_to"].to_numpy()[:-1]).all()


def test_rules_round_trip_through_yaml():
    book = TierRules.parse("tiers:\n  - {tier: A, when: 复购率 > 0.5}\ndefault: B\n")
    again = TierRules.parse(book.to_yaml())
    assert [(r.tier, r.when) for r in again.rules] == [("A", "复购率 > 0.5")]
    assert again.default == "B" and again.tiers == ["A", "B"]


def _error(rules: str) -> RuleError:
    with pytest.raises(RuleError) as e:
        TierRules.parse(rules)
    return e.value


def test_unknown_metric_points_at_the_users_word():
    text = "tiers:\n  - tier: A\n    when: 复购率 > 0.6 and 月采购 > 50000\ndefault: C\n"
    e = _error(text)
    assert e.rule == 1 and e.file_line == 3
    assert e.text == "复购率 > 0.6 and 月采购 > 50000"
    assert e.offset == e.text.index("月采购")
    assert "月采购额" in str(e)  # suggested
    lines = str(e).splitlines()
    assert lines[-1].strip().startswith("^")


def test_wrong_kind_and_constant_and_empty_are_refused():
    e = _error('tiers:\n  - {tier: A, when: 月采购额 > "高"}\ndefault: C\n')
    assert "compare" in e.reason and e.offset is not None
    e = _error("tiers:\n  - {tier: A, when: 1 == 1}\ndefault: C\n")
    assert "names no metric" in e.reason
    e = _error("tiers: []\ndefault: C\n")
    assert "empty" in e.reason
    e = _error("")
    assert "empty" in e.reason
    e = _error("tiers:\n  - {tier: A, when: 月采购额 > 1}\n")
    assert "default" in e.reason
    e = _error("tiers:\n  - {tier: A, when: 月采购额}\ndefault: C\n")
    assert "true/false" in e.reason


def test_a_rule_selecting_everyone_is_refused(demo_data):
    data, _ = demo_data
    with pytest.raises(RuleError, match="selects every one"):
        tier_customers(
            data,
            rules="tiers:\n  - {tier: A, when: 月采购额 >= 0}\n  - {tier: B, when: 复购率 > 0.1}\n"
            "default: C\n",
            history_months=0,
        )


def test_key_findings_in_both_languages(demo_data):
    data, _ = demo_data
    r = tier_customers(data, as_of=AS_OF, history_months=2)
    assert "customers by tier" in r.key_findings("en")[0]
    assert "客户分级" in r.key_findings("zh")[0]
    assert "<table" in r._repr_html_()
