"""Untrusted YAML and dataset settings: bounded, plain, one-line errors naming file and key.

Covers issue 10 items 4 (alias bombs in dataset.yaml, mapping and rule files) and
5 (``--data <file>``, ``!!python`` tags, ``encoding: [1]``, ``files:`` leading
outside the dataset folder).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from salesml.cli import main
from salesml.data.config import DatasetConfig
from salesml.data.errors import DatasetError
from salesml.data.io import describe_files, find_table_files, load_dataset, save_dataset
from salesml.data.yamlsafe import MAX_BYTES, MAX_DEPTH, YamlError, load_yaml

#: Nine levels of nine aliases: 9**9 = 387 million strings once expanded.
BOMB = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
)


@pytest.fixture()
def dataset(small_data, tmp_path) -> Path:
    return save_dataset(small_data, tmp_path / "ds")


def one_line_exit_2(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------------- the loader
def test_alias_bomb_is_refused_at_once():
    t0 = time.perf_counter()
    with pytest.raises(
        YamlError, match=r"^dataset.yaml line 1, column 5: anchor &a0 is not allowed"
    ):
        load_yaml(BOMB, what="dataset.yaml")
    assert time.perf_counter() - t0 < 5  # refused while parsing, never expanded
    with pytest.raises(YamlError, match="alias \\*x is not allowed"):
        load_yaml("a: *x\n", what="m")


def test_python_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = f'name: !!python/object/apply:os.system ["touch {marker}"]\n'
    with pytest.raises(YamlError) as e:
        load_yaml(text, what="dataset.yaml")
    assert str(e.value) == (
        "dataset.yaml line 1, column 7: tag !!python/object/apply:os.system is not allowed "
        "(only plain mappings, lists, text, numbers, true/false and dates)"
    )
    assert not marker.exists()
    with pytest.raises(YamlError, match="tag !custom is not allowed"):
        load_yaml("x: !custom 3\n")


def test_size_and_depth_are_capped(tmp_path):
    with pytest.raises(YamlError, match="nesting deeper than 32 levels"):
        load_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH)  # the root counts as a level
    with pytest.raises(YamlError, match="nesting deeper"):
        load_yaml("[" * 200_000)  # no RecursionError
    big = tmp_path / "big.yaml"
    big.write_text("x: " + "a" * MAX_BYTES, encoding="utf-8")
    with pytest.raises(YamlError, match=r"larger than 1,048,576 bytes"):
        load_yaml(big)


def test_plain_yaml_still_loads(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text("name: 示例\nstages: [a, b]\ngo_live: 2026-03-01\nn: 3\nok: true\n", "utf-8")
    d = load_yaml(f)
    assert d["name"] == "示例" and d["stages"] == ["a", "b"] and d["n"] == 3 and d["ok"] is True
    assert str(d["go_live"]) == "2026-03-01"
    with pytest.raises(YamlError, match=r"^x line 2, column 1: not valid YAML \("):
        load_yaml("a: [1,\n", what="x")


# ---------------------------------------------------------------------- every call site
def test_every_yaml_file_salesml_reads_refuses_a_bomb(tmp_path):
    from salesml.attribution.allocation import load_rules
    from salesml.data.mapping import ImportMapping
    from salesml.health.interventions import load_actions
    from salesml.health.signals import load_signal_rules

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB, encoding="utf-8")
    readers = {
        "dataset.yaml": DatasetConfig.read,
        "mapping": ImportMapping.read,
        "cost rules": load_rules,
        "signal rules": load_signal_rules,
        "actions": load_actions,
    }
    for what, read in readers.items():
        with pytest.raises(ValueError, match="anchor &a0 is not allowed") as e:
            read(bomb)
        assert str(bomb) in str(e.value), what
    with pytest.raises(ValueError, match="anchor &a0"):
        load_signal_rules(BOMB)  # rules given as YAML text


def test_no_module_calls_pyyaml_load_directly():
    root = Path(__file__).resolve().parents[2] / "salesml"
    # the label catalog (i18n.py, on the ground floor below salesml.data) reads only the
    # files shipped in salesml/labels, never anything a user wrote
    trusted = {"yamlsafe.py", "i18n.py"}
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name not in trusted
        and any(s in p.read_text(encoding="utf-8") for s in ("yaml.safe_load", "yaml.load("))
    ]
    assert offenders == []


# ---------------------------------------------------------------------- dataset.yaml
def test_bomb_and_python_tag_in_dataset_yaml_are_one_line_cli_errors(dataset, capsys):
    (dataset / "dataset.yaml").write_text(BOMB, encoding="utf-8")
    err = one_line_exit_2(["validate", str(dataset)], capsys)
    assert "dataset.yaml line 1, column 5: anchor &a0" in err
    (dataset / "dataset.yaml").write_text("name: !!python/name:os.system\n", encoding="utf-8")
    err = one_line_exit_2(["info", str(dataset)], capsys)
    assert "tag !!python/name:os.system is not allowed" in err


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("encoding: [1]", "encoding must be one of auto"),
        ("encoding: latin-1", "encoding must be one of auto"),
        ("stage_order: 5", "stage_order must be a non-empty list"),
        ("files: [deals.csv]", "files must be a mapping"),
        ("cost_categories: {media: [1]}", "cost_categories must be a mapping"),
        ("go_live: someday", "go_live must be a date"),
        ("date_formats: '%d'", "date_formats must be a list"),
        ("currency: {a: 1}", "currency must be text"),
    ],
)
def test_settings_of_the_wrong_shape_name_file_and_key(dataset, capsys, line, key):
    (dataset / "dataset.yaml").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as e:
        load_dataset(dataset, progress=False)
    assert str(e.value).startswith(f"{dataset / 'dataset.yaml'}: {key}")
    err = one_line_exit_2(["validate", str(dataset)], capsys)
    assert key in err


def test_a_file_given_as_the_dataset_folder(dataset, capsys):
    f = dataset / "deals.parquet"
    with pytest.raises(NotADirectoryError, match="is a file, not a dataset folder"):
        load_dataset(f, progress=False)
    with pytest.raises(DatasetError, match="is a file, not a dataset folder"):
        DatasetConfig.read(f)  # what report run --data FILE reads first
    for cmd in (["validate", str(f)], ["info", str(f)], ["info", str(f), "--files-only"]):
        err = one_line_exit_2(cmd, capsys)
        assert "deals.parquet is a file, not a dataset folder" in err


# ---------------------------------------------------------------------- files: paths
@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "sub/../../outside.csv"])
def test_files_may_not_lead_outside_the_folder(dataset, capsys, target):
    (dataset / "dataset.yaml").write_text(f"files: {{deals: '{target}'}}\n", encoding="utf-8")
    with pytest.raises(
        DatasetError,
        match=r"dataset.yaml files: deals: .* (is not a file name inside|leads outside)",
    ):
        load_dataset(dataset, progress=False)
    one_line_exit_2(["validate", str(dataset)], capsys)


def test_symlinks_leading_outside_are_refused(dataset, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("deal_id\nD1\n", encoding="utf-8")
    (dataset / "deals.parquet").unlink()
    os.symlink(outside, dataset / "deals.csv")
    with pytest.raises(
        DatasetError, match=r"table deals: deals.csv leads outside the dataset folder"
    ):
        load_dataset(dataset, progress=False)
    with pytest.raises(DatasetError, match="leads outside"):
        describe_files(dataset)
    (dataset / "deals.csv").unlink()
    os.symlink(outside, dataset / "export.csv")
    (dataset / "dataset.yaml").write_text("files: {deals: export.csv}\n", encoding="utf-8")
    with pytest.raises(
        DatasetError, match=r"dataset\.yaml files: deals: export\.csv leads outside"
    ):
        find_table_files(dataset, DatasetConfig.read(dataset))


def test_symlinks_inside_the_folder_are_fine(dataset):
    (dataset / "raw").mkdir()
    (dataset / "deals.parquet").rename(dataset / "raw" / "deals.parquet")
    os.symlink(dataset / "raw" / "deals.parquet", dataset / "deals.parquet")
    assert len(load_dataset(dataset, progress=False).deals) > 0


def test_symlinks_inside_a_part_folder_leading_outside_are_refused(dataset, tmp_path):
    """A month folder or a part file of a partitioned table that is a symlink to a
    place outside the dataset folder is refused, like a table file; a symlinked month
    inside it is read (it was silently skipped), a symlink loop once."""
    import pandas as pd

    from salesml.data.folder import table_parts

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    pd.DataFrame({"deal_id": ["D1"]}).to_parquet(outside / "part-0.parquet")
    table = dataset / "deals_parts"
    (table / "month=2026-01").mkdir(parents=True)
    pd.DataFrame({"deal_id": ["D2"]}).to_parquet(table / "month=2026-01" / "part-0.parquet")
    assert table_parts(table, dataset, "deals") == [table / "month=2026-01" / "part-0.parquet"]
    os.symlink(outside, table / "month=2026-02")
    with pytest.raises(DatasetError, match=r"table deals: deals_parts/month=2026-02 leads outside"):
        table_parts(table, dataset, "deals")
    (table / "month=2026-02").unlink()
    # a symlinked month inside the dataset folder is read, not skipped
    (dataset / "archive" / "m3").mkdir(parents=True)
    pd.DataFrame({"deal_id": ["D3"]}).to_parquet(dataset / "archive" / "m3" / "part-0.parquet")
    os.symlink(dataset / "archive" / "m3", table / "month=2026-03")
    assert table_parts(table, dataset, "deals") == [
        table / "month=2026-01" / "part-0.parquet",
        table / "month=2026-03" / "part-0.parquet",
    ]
    os.symlink(table, table / "month=2026-01" / "loop")  # a loop is read once
    assert len(table_parts(table, dataset, "deals")) == 2
    (table / "month=2026-01" / "loop").unlink()
    os.symlink(outside / "part-0.parquet", table / "month=2026-01" / "part-1.parquet")
    with pytest.raises(DatasetError, match=r"month=2026-01/part-1.parquet leads outside"):
        table_parts(table, dataset, "deals")
