"""Reason codes: catalog phrases, plural forms, direction markers, punctuation, bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.i18n import register
from salesml.rules.template import render_template_column as render_template
from salesml.scoring import Phrasing, explain_contributions, join_reasons, reason_lists

register(
    {
        "tests.reason.visits": {"en": "{visits:.0f} visits so far", "zh": "已拜访 {visits:.0f} 次"},
        "tests.reason.visits.one": {
            "en": "{visits:.0f} visit so far",
            "zh": "已拜访 {visits:.0f} 次",
        },
        "tests.reason.response_hours": {
            "en": "answered in {response_hours:.0f} h",
            "zh": "{response_hours:.0f} 小时内回复",
        },
        "tests.missing.response_hours": {"en": "not answered yet", "zh": "尚未回复"},
    }
)
PHRASING = Phrasing(prefix="tests.reason", missing_prefix="tests.missing", context=frozenset({"c"}))


def _case() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "visits": [1.0, 3.0, 0.0],
            "response_hours": [2.0, np.nan, 30.0],
            "flag": pd.array([True, False, pd.NA], dtype="boolean"),
            "c": ["x", "y", "x"],
        },
        index=[10, 11, 12],
    )
    contrib = pd.DataFrame(
        {
            "visits": [0.9, -0.2, -1.0],
            "response_hours": [-0.5, 0.3, -0.1],
            "flag": [0.05, -0.4, 0.0],
            "c": [2.0, 0.0, 0.0],
            "bias": [0.1, 0.1, 0.1],
        },
        index=frame.index,
    )
    return frame, contrib


def test_phrases_plural_missing_and_flags() -> None:
    frame, contrib = _case()
    ex = explain_contributions(contrib, frame, phrasing=PHRASING, top=4, id_column="lead_id")
    a = ex.loc[ex["row"] == 10].set_index("reason")["phrase"]
    assert a["visits"] == "1 visit so far"  # the catalog's .one form
    assert ex.loc[(ex["row"] == 11) & (ex["reason"] == "visits"), "phrase"].item() == (
        "3 visits so far"
    )
    assert ex.loc[(ex["row"] == 11) & (ex["reason"] == "response_hours"), "phrase"].item() == (
        "not answered yet"
    )
    # a yes/no input that did not fire says so; an unknown reason falls back to its label
    flag_b = ex.loc[(ex["row"] == 11) & (ex["reason"] == "flag"), "phrase"].item()
    assert flag_b.startswith("not flagged: ")
    assert list(ex.columns) == [
        "row",
        "lead_id",
        "rank",
        "reason",
        "value",
        "contribution",
        "direction",
        "effect",
        "kind",
        "phrase",
    ]
    assert set(ex.loc[ex["reason"] == "c", "kind"]) == {"context"}
    act = explain_contributions(contrib, frame, phrasing=PHRASING, top=4, scope="actionable")
    assert "c" not in set(act["reason"])


def test_strongest_reasons_shown_hurts_first() -> None:
    frame, contrib = _case()
    strength = explain_contributions(contrib, frame, phrasing=PHRASING, top=3)
    hurts = explain_contributions(contrib, frame, phrasing=PHRASING, top=3, order="hurts_first")
    for row in frame.index:
        s = strength.loc[strength["row"] == row]
        h = hurts.loc[hurts["row"] == row]
        assert set(s["reason"]) == set(h["reason"])  # the same reasons...
        c = h["contribution"].to_numpy()
        neg, pos = c[c < 0], c[c >= 0]
        # ...what hurts first (most harmful first), then what helps (strongest first)
        assert list(c) == sorted(neg) + sorted(pos, reverse=True)
    row_a = hurts.loc[hurts["row"] == 10]
    assert row_a["effect"].tolist() == ["hurts", "helps", "helps"]


def test_join_marks_direction_capitalises_and_uses_chinese_punctuation() -> None:
    line = join_reasons(
        ["no reply 5 days after quote viewed", "customer messages answered in 1 h"],
        ["hurts", "helps"],
    )
    assert line == "▼ No reply 5 days after quote viewed; ▲ Customer messages answered in 1 h"
    zh = join_reasons(
        ["报价查看后 5 天未回复", "客户消息平均 1 小时回复"], ["hurts", "helps"], lang="zh"
    )
    assert zh == "▼ 报价查看后 5 天未回复；▲ 客户消息平均 1 小时回复"
    assert join_reasons(["a", "b"]) == "A; B"


def test_reason_lists_per_group() -> None:
    frame, contrib = _case()
    ex = explain_contributions(contrib, frame, phrasing=PHRASING, top=4, id_column="lead_id")
    lists = reason_lists(ex, by="lead_id", top=2)
    assert lists["a"] == "▼ Answered in 2 h; ▲ C: x"
    assert lists["c"].startswith("▼ 0 visits so far")


def test_templates_are_bounded() -> None:
    frame = pd.DataFrame({"x": [1.0]})
    assert render_template("{x:.0f} and {y}", frame).item() == "1 and ?"
    # reasons render through the one bounded renderer of salesml.rules.template
    with pytest.raises(ValueError, match="too large"):
        render_template("{x:>100000000}", frame)
    with pytest.raises(ValueError, match="attribute access"):
        render_template("{x.__class__}", frame)
    with pytest.raises(ValueError, match="conversions"):
        render_template("{x!r}", frame)
