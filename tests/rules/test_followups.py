"""Follow-up rules against the simulator's planted truth, at the end and at 20 random as-of dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesml.rules.followups import (
    FollowupRules,
    _cooldown,
    _dispatch,
    due_followups,
)
from salesml.rules.rulefile import RuleError

HOUR = pd.Timedelta(hours=1)


def quote_truth_at(data, t: pd.Timestamp) -> set[str]:
    """truth.unanswered_quotes at ``t``: the simulator's definition (quotes.py) with T = t.

    Viewed by ``t``, and no reply within 48 h of the view (a reply after ``t`` is not
    known at ``t``).
    """
    q = data.quotes
    fv, rp = q["first_viewed_at"], q["replied_at"]
    known = fv.notna() & (fv <= t)
    until = rp.where(rp.notna() & (rp <= t), t)
    return set(q.loc[known & ((until - fv) > 48 * HOUR), "quote_id"])


def collection_truth_at(truth, t: pd.Timestamp) -> tuple[set[str], set[str]]:
    """The collection list at ``t`` from the planted payment schedule: (open, settled since).

    Open: ``truth.unpaid_contracts_at(t)`` (due date passed by the 7 grace days, not paid
    in full by ``t``). Settled: put on the list (not paid in full at due + 7 days) and
    paid in full by ``t``.
    """
    k = truth.contract_collection
    grace = pd.Timedelta(days=truth.collection_grace_days)
    full = k["paid_in_full_at"]
    late = k["due_at"] + grace <= t
    settled = late & full.notna() & (full >= k["due_at"] + grace) & (full <= t)
    return set(truth.unpaid_contracts_at(t)), set(k.index[settled.to_numpy()])


def _collection(result) -> tuple[set[str], set[str]]:
    tb = result.table[result.table["rule_id"] == "contract_collection"]
    return (
        set(tb.loc[tb["status"] == "open", "subject_id"]),
        set(tb.loc[tb["status"] == "done", "subject_id"]),
    )


def sla_truth_at(data, t: pd.Timestamp) -> set[str]:
    a = data.approvals
    known = a["submitted_at"] <= t
    until = a["decided_at"].where(a["decided_at"].notna() & (a["decided_at"] <= t), t)
    return set(a.loc[known & ((until - a["submitted_at"]) > 48 * HOUR), "approval_id"])


def _ids(result, rule: str) -> set[str]:
    tb = result.table
    return set(tb.loc[tb["rule_id"] == rule, "subject_id"])


@pytest.fixture(scope="module")
def at_end(demo_data):
    data, truth = demo_data
    return due_followups(data, as_of=truth.end)


def test_at_the_end_quotes_and_unpaid_contracts_equal_the_truth(demo_data, at_end):
    _, truth = demo_data
    quotes = _ids(at_end, "quote_second_followup")
    assert quotes == set(truth.unanswered_quotes)
    assert len(quotes) > 100
    unpaid, settled = _collection(at_end)
    assert unpaid == set(truth.unpaid_contracts)
    assert (unpaid, settled) == collection_truth_at(truth, truth.end)
    # both kinds are there: planted never to be paid, and a second half paid late
    never = truth.contract_collection["never_paid"]
    assert 30 < len(unpaid & set(never.index[never])) < len(unpaid)
    assert len(settled) > 20
    assert _ids(at_end, "approval_past_sla") == set(truth.sla_breaches)


def test_at_20_random_dates_quotes_and_unpaid_contracts_equal_the_truth(demo_data):
    data, truth = demo_data
    rng = np.random.default_rng(20)
    start = data.quotes["sent_at"].min() + pd.Timedelta(days=30)
    span = (truth.end - start).total_seconds()
    dates = [start + pd.Timedelta(seconds=float(s)) for s in rng.uniform(0, span, 20)]
    rules = FollowupRules.parse().to_yaml()  # the same defaults, through their YAML form
    never = truth.contract_collection["never_paid"]
    seen_q = seen_k = seen_partial = 0
    for t in dates:
        r = due_followups(data, as_of=t, rules=rules)
        q = _ids(r, "quote_second_followup")
        assert q == quote_truth_at(data, t), t
        k, k_done = _collection(r)
        assert (k, k_done) == collection_truth_at(truth, t), t
        assert k == set(truth.unpaid_contracts_at(t)), t
        assert _ids(r, "approval_past_sla") == sla_truth_at(data, t), t
        seen_q += len(q)
        seen_k += len(k)
        seen_partial += len(k - set(never.index[never]))
    assert seen_q > 500 and seen_k > 100 and seen_partial > 0


def test_tasks_are_unique_and_well_formed(demo_data, at_end):
    data, _ = demo_data
    tb = at_end.table
    assert tb["task_id"].is_unique
    assert not tb.duplicated(["rule_id", "subject_id"]).any()
    assert set(tb["status"]) <= {"open", "done"}
    assert (tb.loc[tb["status"] == "done", "resolved_at"].notna()).all()
    assert (tb["anchor_at"] <= at_end.as_of).all()
    assert tb["reason"].str.len().gt(0).all() and tb["script"].str.len().gt(0).all()
    esc = tb[tb["kind"] == "escalation"]
    mgr = esc["rep_id"].map(data.reps.set_index("rep_id")["manager_id"])
    # went to the rep's manager; a manager's own approvals stay with them (nobody above)
    assert (esc["owner_id"] == mgr.fillna(esc["rep_id"])).all()
    assert (esc["owner_id"] != esc["rep_id"]).sum() > 40
    assert (esc["owner_id"] == esc["manager_id"]).all()
    # open tasks first, high priority before medium within them
    st_ = (tb["status"] == "open").to_numpy()
    assert not (np.diff(st_.astype(int)) > 0).any()


def test_tier_a_customers_are_dispatched_in_their_region(demo_data, at_end):
    data, _ = demo_data
    d = at_end.table[at_end.table["kind"] == "dispatch"]
    assert len(d) > 0
    reps = data.reps.set_index("rep_id")
    assert (reps.loc[d["owner_id"], "region"].to_numpy() == d["region"].to_numpy()).all()
    assert (reps.loc[d["owner_id"], "role"] != "manager").all()


def test_dispatch_balances_open_work():
    people = pd.DataFrame(
        {
            "name": ["a", "b", "c", "m"],
            "manager_id": ["M", "M", "M", None],
            "region": ["East"] * 4,
            "role": ["sales", "sales", "sales", "manager"],
            "hired_at": pd.to_datetime(["2015-01-01", "2016-01-01", "2025-06-01", "2010-01-01"]),
        },
        index=pd.Index(["A", "B", "C", "M"], name="rep_id"),
    )
    tasks = pd.DataFrame(
        {
            "region": ["East"] * 6,
            "rep_id": ["C"] * 6,
            "priority_rank": 0,
            "due_at": pd.date_range("2026-01-01", periods=6, freq="D"),
        }
    )
    load = pd.Series({"A": 0, "B": 4})
    owners = _dispatch(tasks, people, pd.Timestamp("2026-02-01"), 3.0, load)
    # C is not senior (hired 8 months before), M is the manager: A and B share the work
    assert set(owners) == {"A", "B"}
    assert (owners == "A").sum() == 5 and (owners == "B").sum() == 1
    assert load["A"] == 5 and load["B"] == 5


def test_cooldown_keeps_one_task_per_customer_per_window():
    f = pd.DataFrame(
        {
            "k": ["c1", "c1", "c1", "c2"],
            "anchor_at": pd.to_datetime(["2026-01-01", "2026-01-10", "2026-02-05", "2026-01-02"]),
        }
    )
    keep = _cooldown(f, "k", 30, None)
    assert keep.tolist() == [True, False, True, True]
    prev = pd.DataFrame({"dedupe_key": ["c2"], "anchor_at": [pd.Timestamp("2025-12-20")]})
    keep = _cooldown(f, "k", 30, prev)
    assert keep.tolist() == [True, False, True, False]


def test_previous_tasks_are_not_made_again(demo_data, at_end):
    data, truth = demo_data
    again = due_followups(data, as_of=truth.end, previous=at_end.table)
    assert again.table.empty


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frac=st.floats(min_value=0.05, max_value=1.0))
def test_no_task_depends_on_data_after_as_of(demo_data, frac):
    data, truth = demo_data
    start = data.deals["created_at"].min()
    t = start + (truth.end - start) * frac
    full = due_followups(data, as_of=t).table
    cut = due_followups(data.as_of(t), as_of=t).table
    pd.testing.assert_frame_equal(full, cut, check_dtype=False)
    assert (full["anchor_at"] <= t).all()


# ---------------------------------------------------------------------- bad input
def _error(text: str) -> RuleError:
    with pytest.raises(RuleError) as e:
        FollowupRules.parse(text)
    return e.value


def test_unknown_column_points_at_the_word_and_suggests():
    e = _error("rules:\n  - id: q\n    subject: quote\n    when: 等待小时 > 48\n")
    assert e.rule == 1 and e.file_line == 4 and e.offset == 0
    assert "等待小时数" in str(e)


def test_wrong_kind_is_refused_with_a_caret():
    e = _error('rules:\n  - {id: q, subject: quote, when: hours_waiting > "two days"}\n')
    assert "compare a number with text" in e.reason and "^" in str(e)
    assert e.offset == e.text.index(">")


def test_empty_book_unknown_subject_action_and_constant_rule():
    assert "empty" in _error("rules: []\n").reason
    assert "empty" in _error("").reason
    assert "subject" in _error("rules:\n  - {id: q, subject: deal, when: amount > 1}\n").reason
    e = _error("rules:\n  - {id: q, subject: quote, when: amount > 1, action: email}\n")
    assert "action" in e.reason
    e = _error("rules:\n  - {id: q, subject: quote, when: 1 < 2}\n")
    assert "names no column" in e.reason
    e = _error("rules:\n  - {id: q, subject: quote, when: amount > 1, reason_en: 'x {nope}'}\n")
    assert "reason" in e.reason
    e = _error("rules:\n  - {id: q, subject: quote, when: amount > 1, cooldown_days: -1}\n")
    assert "cooldown_days" in e.reason


def test_a_rule_selecting_everything_is_refused(demo_data):
    data, _ = demo_data
    with pytest.raises(RuleError, match="selects every one"):
        due_followups(data, rules="rules:\n  - {id: q, subject: quote, when: amount > -1}\n")


def test_missing_tables_skip_their_rules_with_a_note(demo_data):
    data, truth = demo_data
    tables = {k: v for k, v in data.tables.items() if k not in ("approvals", "quotes")}
    slim = type(data)(tables, data.config)
    r = due_followups(slim, as_of=truth.end)
    assert set(r.table["rule_id"]) == {
        "contract_collection",
        "tier_a_untouched",
        "visit_problem_lead",
    }
    text = " ".join(r.key_findings("en"))
    assert "approval_past_sla" in text and "quotes" in text
