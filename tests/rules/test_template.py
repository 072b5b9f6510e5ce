"""Phrase templates are bounded and whitelisted (issue 10 item 1: ``{x:>100000000}``)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesml import i18n
from salesml.health.signals import load_signal_rules, render_phrase
from salesml.rules.expr import ExpressionError
from salesml.rules.template import (
    MAX_FIELD_CHARS,
    MAX_FIELDS,
    MAX_PRECISION,
    MAX_WIDTH,
    TemplateError,
    check_template,
    render_template,
    render_template_column,
)


@pytest.mark.parametrize(
    ("template", "needle", "offset"),
    [
        ("{x:>100000000}", "width 100000000 is too large", 4),
        ("{x:<99999999999999999999}", "too large", 4),
        ("{x:.100000000f}", "precision", 4),
        ("{x.__class__}", "attribute access", 2),
        ("{x.__class__.__init__.__globals__}", "attribute access", 2),
        ("{x[0]}", "indexing", 2),
        ("{}", "empty field", 0),
        ("{0}", "one column name", 1),
        ("{x!r}", "conversions", 2),
        ("{x:{y}}", "nested", 3),
        ("{x:%Y}", "format '%Y' is not allowed", 3),
        ("{x:c}", "is not allowed", 3),
        ("{x", "not closed", 0),
        ("a } b", "single '}'", 2),
        ("{a b}", "one column name", 1),
    ],
)
def test_refused_templates(template: str, needle: str, offset: int) -> None:
    with pytest.raises(TemplateError) as info:
        render_template(template, {"x": 1.0})
    err = info.value
    assert isinstance(err, ExpressionError)
    assert needle in err.reason
    assert err.offset == offset
    assert "^" in str(err)


def test_big_width_never_allocates() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError):
            render_template("{x:>100000000}", {"x": 1})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_limits_are_inclusive() -> None:
    assert render_template(f"{{x:>{MAX_WIDTH}}}", {"x": 1}) == " " * (MAX_WIDTH - 1) + "1"
    assert render_template(f"{{x:.{MAX_PRECISION}f}}", {"x": 1}) == "1." + "0" * MAX_PRECISION
    with pytest.raises(TemplateError, match="too many fields"):
        check_template("{x}" * (MAX_FIELDS + 1))


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("plan revised {n:.0f} times", {"n": 4.0}, "plan revised 4 times"),
        ("金额 ¥{amount:,.0f}", {"amount": 1234567.4}, "金额 ¥1,234,567"),
        ("{q:+.0%}", {"q": 0.25}, "+25%"),
        ("at stage {stage}", {"stage": "quote"}, "at stage quote"),
        ("{stage:.0f}", {"stage": "quote"}, "quote"),  # the spec does not fit text: plain
        ("{n:.0f} / {gone}", {"n": np.nan}, "? / ?"),
        ("{t}", {"t": pd.NaT}, "?"),
        ("{{literal}} {n}", {"n": 1}, "{literal} 1"),
        ("在{阶段}阶段", {"阶段": "报价"}, "在报价阶段"),
    ],
)
def test_renders(template: str, values: dict, expected: str) -> None:
    assert render_template(template, values) == expected


def test_long_values_are_cut() -> None:
    out = render_template("note: {x}", {"x": "y" * 10_000})
    assert len(out) == len("note: ") + MAX_FIELD_CHARS and out.endswith("…")
    assert len(render_template("{x:,.10f}", {"x": 1e308})) <= MAX_FIELD_CHARS


def test_allowed_names() -> None:
    assert check_template("{a} and {b:.1f} and {a}", names={"a", "b"}) == ("a", "b")
    with pytest.raises(TemplateError, match="unknown field 'amout'; did you mean 'amount'"):
        check_template("¥{amout:,.0f}", names={"amount"})


def test_column_rendering_matches_row_rendering() -> None:
    frame = pd.DataFrame(
        {
            "n": [1.0, np.nan, 3.0, 1.0],
            "stage": pd.array(["lead", "quote", None, "lead"], dtype="str"),
            "when": pd.to_datetime(["2026-01-01", None, "2026-01-03", "2026-01-01"]),
        },
        index=[5, 6, 7, 8],
    )
    template = "{n:.0f} at {stage} on {when} ({nope})"
    col = render_template_column(template, frame)
    assert col.index.equals(frame.index)
    rows = [render_template(template, frame.loc[i].to_dict()) for i in frame.index]
    assert col.tolist() == rows
    assert rows[1] == "? at quote on ? (?)"


def test_shipped_phrases_are_valid() -> None:
    for rule in load_signal_rules():
        check_template(rule.phrase_en)
        check_template(rule.phrase_zh)
    reasons = i18n.keys("health.reason.") + i18n.keys("health.missing.")
    assert len(reasons) > 50  # the deal-health reason phrases live in the catalog
    for key in reasons:
        check_template(i18n.t(key, "en"))
        check_template(i18n.t(key, "zh"))
    assert render_phrase("{n:.0f} days", {"n": 3.2}) == "3 days"


@settings(max_examples=200, deadline=None)
@given(template=st.text(alphabet=st.sampled_from(list("{}:.!x0[]<>^=,+-%fdsz#_ 9长")), max_size=40))
def test_random_templates_render_or_refuse(template: str) -> None:
    try:
        out = render_template(template, {"x": 12.5, "长": "文本"})
    except TemplateError:
        return
    fields = template.count("{")
    assert len(out) <= len(template) + fields * MAX_FIELD_CHARS
