"""The label catalog: one source of every name, in both languages."""

from __future__ import annotations

import pytest
import yaml

import salesml
from salesml import i18n
from salesml.i18n import check_lang, currency_symbol, label, money, register, t


def test_every_catalog_file_has_both_languages_and_no_conflicting_key() -> None:
    from importlib import resources

    seen: dict[str, tuple[str, dict[str, str]]] = {}
    folder = resources.files(salesml) / "labels"
    files = [e for e in folder.iterdir() if e.name.endswith(".yaml")]
    assert len(files) >= 3
    for entry in files:
        content = yaml.safe_load(entry.read_text(encoding="utf-8"))
        for key, texts in content.items():
            assert set(texts) == {"en", "zh"}, (entry.name, key)
            assert all(isinstance(v, str) and v.strip() for v in texts.values()), key
            if key in seen:
                assert seen[key][1] == texts, f"{key} differs in {seen[key][0]} and {entry.name}"
            seen[key] = (entry.name, texts)
    frame = i18n.catalog_frame()
    from_files = set(frame.loc[frame["origin"].str.startswith("salesml/labels/"), "key"])
    assert from_files == set(seen)  # (tests may register() keys of their own)


def test_shared_values_read_alike_in_tables_and_charts() -> None:
    # the disagreement the review found: 大区 in charts, 区域 in tables
    assert label("region", "zh") == "区域"
    assert label("store_walkin") == "Store walk-in"
    assert label("store_walkin", "zh") == "门店到访"
    assert label("proposal", "zh") == "方案报价"
    # data values the catalog does not know stay as they are (an English CRM's regions)
    assert label("Philippines", "zh") == "Philippines"
    assert label(None) == "" and label(float("nan")) == ""


def test_messages_fill_placeholders_and_refuse_attribute_access() -> None:
    assert t("report.region", "zh", region="华东") == "区域：华东"
    assert t("no.such.key") == "no.such.key"
    with pytest.raises(ValueError, match="lang"):
        t("report.region", "fr")
    register({"test.attr": {"en": "{x.__class__}", "zh": "{x}"}})
    with pytest.raises(ValueError, match="plain names"):
        t("test.attr", "en", x=1)
    register({"test.wide": {"en": "{x:>100000000}", "zh": "{x}"}})
    with pytest.raises(ValueError, match="too wide"):
        t("test.wide", "en", x=1)


def test_register_refuses_missing_language_and_silent_overwrite() -> None:
    with pytest.raises(ValueError, match="lacks a text for: zh"):
        register({"test.half": {"en": "Only English"}})
    register({"test.once": {"en": "One", "zh": "一"}})
    register({"test.once": {"en": "One", "zh": "一"}})  # same text: fine
    with pytest.raises(ValueError, match="different texts"):
        register({"test.once": {"en": "Two", "zh": "二"}})
    register({"test.once": {"en": "Two", "zh": "二"}}, replace=True)
    assert t("test.once", "zh") == "二"


def test_money_in_the_dataset_currency() -> None:
    assert money(9325300.4) == "¥9,325,300"
    assert money(-1200, "USD") == "-$1,200"
    assert money(12, "chf") == "CHF 12"
    assert money(0.4, "EUR") == "€0"
    assert money(float("nan")) == "" and money(None) == ""
    assert currency_symbol(None) == "¥"
    with pytest.raises(ValueError):
        check_lang("de")
