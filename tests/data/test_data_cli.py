"""The data commands through ``salesml.cli.main``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.cli import main
from salesml.data.io import load_dataset
from salesml.simulator import Truth

CRM = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "crm_export"


def test_generate_writes_dataset_and_truth(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["generate", "--preset", "tiny", "--seed", "2", "--out", str(out)]) == 0
    assert (out / "dataset.yaml").exists() and (out / "deals.parquet").exists()
    truth = Truth.load(out / "truth")
    assert truth.preset == "tiny" and truth.seed == 2
    printed = capsys.readouterr().out
    assert "deals" in printed and f"wrote {out}" in printed
    data = load_dataset(out, progress=False)
    assert data.validation.ok
    assert main(["validate", str(out)]) == 0
    assert main(["info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "simulated-tiny-seed2" in printed and "all" in printed
    assert main(["info", str(out), "--files-only"]) == 0
    printed = capsys.readouterr().out
    assert f"{len(data.deals)}" in printed and "not loaded" in printed


def test_dirty_parquet_of_a_big_preset_is_written_whole_not_by_month(tmp_path, monkeypatch, capsys):
    """``generate --dirty --format parquet`` of M once failed: month partitions need the
    dates parsed, and a dirty export keeps them as text ("2024年11月10日 20:27")."""
    from salesml.data import cli

    monkeypatch.setattr(cli, "MONTH_PARTITIONED", ("tiny",))  # tiny stands in for M
    out = tmp_path / "dirty"
    args = ["generate", "--preset", "tiny", "--dirty", "--format", "parquet", "--out", str(out)]
    assert main(args) == 0
    assert (out / "deals.parquet").is_file() and not (out / "deals").exists()
    capsys.readouterr()
    clean = tmp_path / "clean"
    assert main(["generate", "--preset", "tiny", "--out", str(clean)]) == 0
    assert (clean / "deals").is_dir()  # a clean big preset is still month-partitioned


@pytest.mark.slow
def test_dirty_generate_then_validate_exits_1_and_writes_the_quarantine(tmp_path, capsys):
    out = tmp_path / "dirty"
    assert main(["generate", "--preset", "tiny", "--dirty", "--out", str(out)]) == 0
    assert (out / "deals.csv").exists()
    (out / "deals.csv").read_bytes().decode("gb18030")
    capsys.readouterr()
    qfile = tmp_path / "q.csv"
    assert main(["validate", str(out), "--quarantine-out", str(qfile)]) == 1
    printed = capsys.readouterr()
    assert "quarantined" in printed.out and "deals.csv line" in printed.out
    assert "--allow-rejects" in printed.err
    q = pd.read_csv(qfile, encoding="utf-8-sig")
    truth = Truth.load(out / "truth")
    assert len(q) >= len(truth.faults)
    assert set(truth.faults["rule"]) <= set(q["rule"])
    assert main(["validate", str(out), "--allow-rejects"]) == 0


def test_import_command(tmp_path, capsys):
    out = tmp_path / "crm"
    code = main(["import", str(CRM), "--mapping", str(CRM / "mapping.yaml"), "--out", str(out)])
    assert code == 0
    assert "all 23 rows" in capsys.readouterr().out
    assert len(load_dataset(out, progress=False).deals) == 10


def test_import_with_rejects_exits_1_unless_allowed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for f in CRM.iterdir():
        (src / f.name).write_bytes(f.read_bytes())
    opp = src / "opportunities.csv"
    opp.write_text(opp.read_text(encoding="utf-8").replace("O-1002", "O-1001"), "utf-8")
    args = [
        "import",
        str(src),
        "--mapping",
        str(src / "mapping.yaml"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(args) == 1
    assert (tmp_path / "o" / "quarantine.parquet").exists()
    assert main([*args, "--allow-rejects"]) == 0


def test_user_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("salesml validate: error: ") and "not a dataset folder" in err
    bad = tmp_path / "m.yaml"
    bad.write_text("tables: {opportunities: {file: x.csv}}", encoding="utf-8")
    assert main(["import", str(CRM), "--mapping", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "unknown table 'opportunities'" in capsys.readouterr().err
