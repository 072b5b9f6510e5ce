"""Rule signals on snapshots: thresholds in YAML, evaluated by the safe parser.

Shared by every scoring model (deal health's ``signals.yaml``, lead potential's):
a model ships its default rules as a YAML file; a user passes their own as a path,
a YAML string, or a list of mappings with the same keys (``name``, ``when``,
``severity``, ``phrase_en``, ``phrase_zh``). Conditions are parsed by
:mod:`salesml.rules.expr` (a whitelist; never ``eval``); phrases are filled by the
one bounded renderer of :mod:`salesml.rules.template`.
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
from salesml.i18n import check_lang, t
from salesml.rules.expr import Expr, compile_expr
from salesml.rules.template import check_template, render_template, render_template_column

__all__ = [
    "RulesLike",
    "SignalRule",
    "evaluate_signals",
    "load_signal_rules",
    "parse_rules",
    "render_phrase",
    "render_phrases",
    "signal_availability",
]

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


def render_phrases(template: str, frame: pd.DataFrame) -> pd.Series:
    """:func:`render_phrase` over every row of ``frame`` (vectorised, same placeholders)."""
    return render_template_column(template, frame)


def load_signal_rules(
    rules: str | Path | Sequence[Mapping[str, Any]] | None = None,
    *,
    default: Path | None = None,
) -> list[SignalRule]:
    """Read and check signal rules.

    Parameters
    ----------
    rules
        ``None`` (the model's shipped file ``default``), a path to a YAML file, YAML
        text, or a list of mappings. The YAML holds ``signals:`` followed by the list.
    default
        The shipped rule file used when ``rules`` is ``None``.

    Raises
    ------
    ValueError
        Naming the rule (by position and name) and the field at fault; a condition
        outside the safe grammar raises :class:`salesml.rules.expr.ExpressionError`
        (a ``ValueError``) pointing at the offending part.
    """
    if rules is None:
        if default is None:
            raise ValueError("give signal rules (a YAML file, YAML text or a list of rules)")
        rules = default
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
        for key in ("phrase_en", "phrase_zh"):
            try:
                check_template(str(item.get(key, "")))
            except ValueError as e:
                raise ValueError(f"signal rule #{i} ({name}): {key}: {e}") from None
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


#: Rules as a user gives them: a path, YAML text, mappings, parsed rules, or ``None``.
RulesLike = str | Path | Sequence[Mapping[str, Any]] | Sequence[SignalRule] | None


def parse_rules(rules: RulesLike, *, default: Path | None = None) -> list[SignalRule]:
    """``rules`` as parsed :class:`SignalRule` objects (``None``: the file ``default``)."""
    if (
        isinstance(rules, Sequence)
        and not isinstance(rules, str)
        and rules
        and all(isinstance(r, SignalRule) for r in rules)
    ):
        return list(rules)  # type: ignore[arg-type]
    return load_signal_rules(rules, default=default)  # type: ignore[arg-type]


def signal_availability(
    snapshots: pd.DataFrame,
    rules: Sequence[SignalRule],
    *,
    unavailable: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Rules that cannot be computed on ``snapshots`` -> why.

    A rule is unavailable when a column it reads is not in the snapshots
    (``column:<name>``) or comes from a table the dataset lacks (``table:<name>``;
    ``unavailable`` defaults to ``snapshots.attrs["unavailable"]``, see
    the feature builder's ``unavailable_features``).
    """
    missing_tables = dict(
        unavailable if unavailable is not None else snapshots.attrs.get("unavailable") or {}
    )
    out = {}
    for rule in rules:
        for col in rule.expr.columns:
            if col in missing_tables:
                what = str(missing_tables[col])
                out[rule.name] = f"column:{what}" if "." in what else f"table:{what}"
                break
            if col not in snapshots.columns:
                out[rule.name] = f"column:{col}"
                break
    return out


def evaluate_signals(
    snapshots: pd.DataFrame,
    *,
    rules: Sequence[SignalRule],
    lang: str = "en",
    unavailable: Mapping[str, str] | None = None,
    table: str = "snapshots",
) -> pd.DataFrame:
    """Evaluate rule signals on snapshots.

    Parameters
    ----------
    snapshots
        Any frame with the columns the rules name (a model's snapshots).
    rules
        Parsed rules (:func:`parse_rules`).
    lang
        ``en`` or ``zh`` for the phrases.
    unavailable
        Feature -> missing table (default ``snapshots.attrs["unavailable"]``).
    table
        What the rows are, for error messages (``deal snapshots``).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``snapshots``: one nullable boolean column per rule (named by the
        rule): ``True`` fired, ``False`` did not, ``<NA>`` *unavailable*: the rule reads
        a column the snapshots lack or one from a table the dataset does not have
        (never reported as ``False``); ``n_signals`` (how many fired),
        ``n_unavailable`` (how many could not be computed) and ``signal_text`` (the
        fired rules' phrases joined in the language's way, empty when none fired).
        ``attrs["unavailable"]`` maps each unavailable rule to its reason.
    """
    lang = check_lang(lang)
    parsed = list(rules)
    off = signal_availability(snapshots, parsed, unavailable=unavailable)
    out = pd.DataFrame(index=snapshots.index)
    for rule in parsed:
        if rule.name in off:
            out[rule.name] = pd.Series(pd.NA, index=snapshots.index, dtype="boolean")
        else:
            fired = rule.expr.mask(snapshots, table=table).astype(bool)
            out[rule.name] = fired.astype("boolean")
    names = [r.name for r in parsed]
    out["n_signals"] = out[names].fillna(False).sum(axis=1).astype("int64")
    out["n_unavailable"] = np.int64(len(off))
    phrases = []
    for rule in parsed:
        fired = out[rule.name].fillna(False).to_numpy(dtype=bool)
        phrase = pd.Series("", index=snapshots.index, dtype="str")
        if fired.any():
            template = (rule.phrase_zh if lang == "zh" else rule.phrase_en) or rule.name
            phrase[fired] = render_phrases(template, snapshots.loc[fired]).to_numpy()
        phrases.append(phrase)
    out["signal_text"] = _join_columns(phrases, snapshots.index, lang)
    out.attrs["unavailable"] = off
    return out


def _join_columns(parts: Sequence[pd.Series], index: pd.Index, lang: str) -> pd.Series:
    """Join per-row phrases (empty ones skipped) as :func:`join_reasons` would."""
    texts = pd.Series("", index=index, dtype="str")
    sep = t("scoring.reason.separator", lang)
    for phrase in parts:
        if lang == "en":
            phrase = phrase.str.slice(0, 1).str.upper() + phrase.str.slice(1)
        both = (texts != "") & (phrase != "")
        texts = texts + np.where(both, sep, "") + phrase
    return texts
