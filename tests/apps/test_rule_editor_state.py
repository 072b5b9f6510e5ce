"""Rule editor state (no browser): live counts, caret errors, before/after, saving YAML."""

from __future__ import annotations

import numpy as np
import pytest

from salesml.apps.rule_editor.state import RuleEditorState
from salesml.rules import FollowupRules, TierRules, due_followups
from salesml.rules.metrics import customer_metrics


@pytest.fixture(scope="module")
def state(demo_data):
    data, _ = demo_data
    return RuleEditorState(data, lang="zh")


@pytest.fixture(scope="module")
def metrics(demo_data, state):
    return customer_metrics(demo_data[0], as_of=state.as_of)


def test_editing_a_tier_rule_updates_the_counts(state, metrics):
    state.book = "tier"
    state.rule_index = 0
    assert state.text == "月采购额 > 50000 and 复购率 > 0.6"
    before = state.result
    expect = ((metrics["monthly_purchase"] > 50000) & (metrics["repurchase_rate"] > 0.6)).sum()
    assert before.before == before.after == expect
    state.text = "月采购额 > 20000 and 复购率 > 0.6"
    r = state.result
    wider = ((metrics["monthly_purchase"] > 20000) & (metrics["repurchase_rate"] > 0.6)).sum()
    assert r.before == expect and r.after == wider > expect
    assert r.entering == wider - expect and r.leaving == 0
    assert r.tier_counts.loc["A", "after"] == wider
    assert r.tier_counts["before"].sum() == r.tier_counts["after"].sum() == len(metrics)
    assert list(r.rows.columns) == ["customer_id", "monthly_purchase", "repurchase_rate"]


def test_a_typo_sets_the_caret_and_keeps_the_last_good_result(state):
    state.book = "tier"
    state.rule_index = 0
    state.text = "月采购额 > 20000"
    good = state.result
    state.text = "月采购额 > 20000 and 复购 > 0.3"
    assert state.caret == state.text.index("复购")
    assert "复购率" in state.parse_error and "^" in state.parse_error
    assert state.result is good
    state.text = "月采购额 >= 0"
    assert "selects every one" in state.parse_error
    state.text = "月采购额 > 20000"
    assert state.parse_error == "" and state.caret == -1


def test_a_followup_rule_counts_tasks(state, demo_data):
    data, _ = demo_data
    state.book = "followup"
    assert state.rule_names[0] == "quote_second_followup"
    state.rule_index = 0
    assert state.text == "等待小时数 > 48"
    r48 = state.result
    q = data.quotes
    fv, rp = q["first_viewed_at"], q["replied_at"]
    until = rp.where(rp.notna() & (rp <= state.as_of), state.as_of)
    hours = (until - fv).dt.total_seconds() / 3600
    assert r48.after == int((hours > 48).sum())
    state.text = "等待小时数 > 24"
    r24 = state.result
    assert r24.before == r48.after and r24.after == int((hours > 24).sum()) > r48.after
    assert r24.leaving == 0 and r24.entering == r24.after - r24.before
    assert {"subject_id", "rep_id", "status", "reason"} <= set(r24.rows.columns)


def test_saving_writes_the_edited_book(state, demo_data, tmp_path):
    data, _ = demo_data
    state.book = "followup"
    state.rule_index = 0
    state.text = "等待小时数 > 24"
    path = state.save(tmp_path / "followups.yaml")
    book = FollowupRules.parse(path)
    assert book.rules[0].when == "等待小时数 > 24"
    assert [r.id for r in book.rules] == [r.id for r in FollowupRules.parse().rules]
    tasks = due_followups(data, rules=path, as_of=state.as_of).table
    assert (tasks["rule_id"] == "quote_second_followup").sum() == state.result.after
    state.book = "tier"
    state.rule_index = 1
    state.text = "月采购额 > 15000"
    tiers = TierRules.parse(state.save(tmp_path / "tiers.yml"))
    assert tiers.rules[1].when == "月采购额 > 15000" and tiers.default == "C"
    with pytest.raises(ValueError, match="yaml"):
        state.save(tmp_path / "tiers.txt")
    state.text = "月采购额 > "
    with pytest.raises(Exception, match="月采购额"):
        state.save(tmp_path / "bad.yaml")
    assert not (tmp_path / "bad.yaml").exists()


def test_the_view_shows_counts_and_errors(state):
    from salesml.apps.rule_editor.view import RuleEditorView

    state.book = "tier"
    state.rule_index = 0
    state.text = "月采购额 > 50000 and 复购率 > 0.6"
    view = RuleEditorView(state)
    assert "修改前" in view.counts.value
    view.text.value = "月采购额 > 50000 and 复购 > 0.6"
    assert "^" in view.parse_error.value
    assert np.isin(["A", "B"], [o[0] for o in view.rule.options]).all()
    state.book = "followup"
    state.lang = "en"
    assert state.book == "followup" and view.book.value == "followup"
    assert [o[0] for o in view.book.options] == ["Tier rules", "Follow-up rules"]
    state.lang = "zh"
    assert [o[0] for o in view.book.options] == ["客户分级规则", "跟进规则"]
