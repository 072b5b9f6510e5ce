"""Rule signals on deal snapshots: thresholds in YAML, evaluated by the safe parser.

The default rules live in ``signals.yaml`` next to this module; a user passes
their own as a path, a YAML string, or a list of mappings with the same keys
(``name``, ``when``, ``severity``, ``phrase_en``, ``phrase_zh``). Conditions are
parsed by :mod:`salesml.rules.expr` (a whitelist; never ``eval``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.yamlsafe import load_yaml
from salesml.rules.expr import Expr, compile_expr
from salesml.rules.template import render_template, render_template_column

__all__ = ["DEFAULT_SIGNALS_PATH", "SignalRule", "health_signals", "load_signal_rules"]

#: The shipped rule file.
DEFAULT_SIGNALS_PATH = Path(__file__).with_name("signals.yaml")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SEVERITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class SignalRule:
    """One rule signal.

    Parameters
    ----------
    name
        Identifier (lower-case, digits, underscores); the output column name.
    when
        Condition in the :mod:`salesml.rules.expr` grammar over snapshot columns.
    severity
        ``low``, ``medium`` or ``high``.
    phrase_en, phrase_zh
        What a manager reads; ``{column}`` / ``{column:.0f}`` quote the deal's values.
    """

    name: str
    when: str
    severity: str = "medium"
    phrase_en: str = ""
    phrase_zh: str = ""

    @property
    def expr(self) -> Expr:
        """The compiled condition."""
        return compile_expr(self.when)

    def phrase(self, row: Mapping[str, Any], lang: str = "en") -> str:
        """The phrase for one deal (``row`` maps column -> value)."""
        template = (self.phrase_zh if lang == "zh" else self.phrase_en) or self.name
        return render_phrase(template, row)


def render_phrase(template: str, row: Mapping[str, Any]) -> str:
    """Fill ``{column}`` / ``{column:spec}`` placeholders from ``row`` (nothing else)."""
    return render_template(template, row)


def _render_column(template: str, frame: pd.DataFrame) -> pd.Series:
    """Vectorised :func:`render_phrase` over the rows of ``frame``."""
    return render_template_column(template, frame)


def load_signal_rules(
    rules: str | Path | Sequence[Mapping[str, Any]] | None = None,
) -> list[SignalRule]:
    """Read and check signal rules.

    Parameters
    ----------
    rules
        ``None`` (the shipped ``signals.yaml``), a path to a YAML file, YAML text, or a
        list of mappings. The YAML holds ``signals:`` followed by the list.

    Raises
    ------
    ValueError
        Naming the rule (by position and name) and the field at fault; a condition
        outside the safe grammar raises :class:`salesml.rules.expr.ExpressionError`
        (a ``ValueError``) pointing at the offending part.
    """
    if rules is None:
        rules = DEFAULT_SIGNALS_PATH
    if isinstance(rules, Path) or (
        isinstance(rules, str) and "\n" not in rules and rules.endswith((".yaml", ".yml"))
    ):
        path = Path(rules)
        if not path.exists():
            raise FileNotFoundError(f"signal rules file {path} does not exist")
        parsed: Any = load_yaml(path, what=f"signal rules file {path}")
    elif isinstance(rules, str):
        parsed = load_yaml(rules, what="signal rules")
    else:
        parsed = list(rules)
    if isinstance(parsed, Mapping):
        parsed = parsed.get("signals")
    if not isinstance(parsed, list) or not parsed:
        raise ValueError("signal rules must be a non-empty list under the key 'signals'")
    out: list[SignalRule] = []
    seen: set[str] = set()
    for i, item in enumerate(parsed, start=1):
        if not isinstance(item, Mapping):
            raise ValueError(f"signal rule #{i} must be a mapping with 'name' and 'when'")
        unknown = set(item) - {"name", "when", "severity", "phrase_en", "phrase_zh"}
        if unknown:
            raise ValueError(f"signal rule #{i}: unknown field(s) {sorted(unknown)}")
        name = str(item.get("name", ""))
        if not _NAME.match(name):
            raise ValueError(
                f"signal rule #{i}: name {name!r} must be lower-case letters, digits, underscores"
            )
        if name in seen:
            raise ValueError(f"signal rule #{i}: name {name!r} is used twice")
        seen.add(name)
        when = item.get("when")
        if not isinstance(when, str) or not when.strip():
            raise ValueError(f"signal rule #{i} ({name}): 'when' must be a condition text")
        severity = str(item.get("severity", "medium"))
        if severity not in _SEVERITIES:
            raise ValueError(
                f"signal rule #{i} ({name}): severity {severity!r} is not one of {_SEVERITIES}"
            )
        compile_expr(when)  # refuse bad conditions now, with a caret message
        out.append(
            SignalRule(
                name=name,
                when=when,
                severity=severity,
                phrase_en=str(item.get("phrase_en", "")),
                phrase_zh=str(item.get("phrase_zh", "")),
            )
        )
    return out


def health_signals(
    snapshots: pd.DataFrame,
    rules: str | Path | Sequence[Mapping[str, Any]] | Sequence[SignalRule] | None = None,
    *,
    lang: str = "en",
) -> pd.DataFrame:
    """Evaluate rule signals on deal snapshots.

    Parameters
    ----------
    snapshots
        Output of :func:`salesml.health.deal_snapshots` / :func:`build_features`
        (any frame with the columns the rules name).
    rules
        Rules (see :func:`load_signal_rules`); default the shipped ``signals.yaml``:
        technical plan revised > 3 times, terms adjusted >= 3 times, no activity for
        14 days, quote viewed > 48 h without reply, stalled beyond the stage's p90.
    lang
        ``en`` or ``zh`` for the phrases.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``snapshots``: one boolean column per rule (named by the rule),
        ``n_signals`` (how many fired) and ``signal_text`` (the fired rules' phrases,
        joined by ``"; "``, empty when none fired).
    """
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    parsed = (
        list(rules)
        if isinstance(rules, Sequence)
        and not isinstance(rules, str)
        and all(isinstance(r, SignalRule) for r in rules)
        else load_signal_rules(rules)  # type: ignore[arg-type]
    )
    out = pd.DataFrame(index=snapshots.index)
    for rule in parsed:
        out[rule.name] = rule.expr.mask(snapshots, table="deal snapshots").astype(bool)
    out["n_signals"] = out[[r.name for r in parsed]].sum(axis=1).astype("int64")
    parts = []
    for rule in parsed:
        fired = out[rule.name].to_numpy()
        phrase = pd.Series("", index=snapshots.index, dtype="str")
        if fired.any():
            template = (rule.phrase_zh if lang == "zh" else rule.phrase_en) or rule.name
            phrase[fired] = _render_column(template, snapshots.loc[fired])
        parts.append(phrase)
    texts = pd.Series("", index=snapshots.index, dtype="str")
    for phrase in parts:
        both = (texts != "") & (phrase != "")
        texts = texts + np.where(both, "; ", "") + phrase
    out["signal_text"] = texts
    return out
