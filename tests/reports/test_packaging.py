"""The edges: command registration, the README's first steps, notebooks inside the wheel."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from salesml.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_serve_and_demo_live_at_the_top_edge() -> None:
    # salesml.reports must not import the apps or the demo (arrows run downward only)
    for path in (ROOT / "salesml" / "reports").rglob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(("salesml.apps", "salesml.demo"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
    parser = build_parser()
    for argv in (["serve", "--port", "1"], ["demo"], ["report", "due", "--data", "d"]):
        assert callable(parser.parse_args(argv).func)


def test_readme_installs_jupyterlab_and_says_how_to_open_the_tour() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)```", readme, flags=re.S).group(1)  # type: ignore[union-attr]
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = " ".join(meta["dependencies"])
    extras = re.findall(r"\.\[(\w+)\]", first)
    installed = deps + " ".join(" ".join(meta["optional-dependencies"][e]) for e in extras)
    assert "pip install" in first and "jupyterlab" in installed
    assert "jupyter lab notebooks/explore/01_tour.ipynb" in readme
    for extra in meta["optional-dependencies"]:  # the README names what each extra installs
        assert f"`[{extra}]`" in readme, extra
    # the design documents the code and the benchmarks cite are in the repository
    for doc in ("docs/DESIGN.md", "docs/STYLE.md"):
        assert (ROOT / doc).is_file()
    assert "docs/STYLE.md" in (ROOT / "tests" / "notebooks" / "test_notebooks.py").read_text()
    assert "docs/DESIGN.md" in (ROOT / "bench" / "README.md").read_text()
    assert "## Architecture" in readme


def test_the_tour_names_the_folder_its_command_writes() -> None:
    from salesml.cli import main  # noqa: F401  (the command the tour shows must parse)
    from salesml.reports import validate_params
    from salesml.reports.catalog.pipeline_weekly import PipelineWeeklyParams

    nb = json.loads((ROOT / "notebooks" / "explore" / "01_tour.ipynb").read_text("utf-8"))
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    cmd = re.search(r"`salesml report run (pipeline_weekly [^`]+)` writes `([^`]+)`", text)
    assert cmd, "the tour shows a report command and the folder it writes"
    argv = ["report", "run", *cmd.group(1).split()]
    args = build_parser().parse_args(argv)
    values = {"dataset": args.data, "period": args.period, **dict(args.param)}
    p = validate_params(PipelineWeeklyParams, values)
    assert cmd.group(2).rstrip("/") == f"reports/pipeline_weekly/{p.run_slug}"


def _can_build_offline() -> bool:
    """Whether this interpreter has what ``pip wheel --no-build-isolation`` needs."""
    try:
        import setuptools
        import wheel  # noqa: F401
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 68  # pyproject.toml build-system


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_built_wheel_runs_a_report_and_serves_the_apps(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    """``pip wheel .``, a fresh venv, then ``salesml report run`` and ``salesml serve`` from it."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for name in ("salesml", "notebooks"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    (src / "notebooks" / "reports" / ".ipynb_checkpoints").mkdir()  # a Lab leftover
    (src / "notebooks" / "reports" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(dist)]
    if _can_build_offline():  # else pip fetches setuptools and wheel into an isolated env
        build.append("--no-build-isolation")
    subprocess.run(build, check=True, cwd=tmp_path, timeout=600)
    (wheel,) = dist.glob("salesml-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "salesml/_notebooks/reports/pipeline_weekly.ipynb" in names
    assert "salesml/_notebooks/apps/funnel_explorer.ipynb" in names
    assert not [n for n in names if "checkpoint" in n]

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300
    )
    py = venv / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, timeout=300
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SALESML_NOTEBOOKS")}
    env["SALESML_CACHE"] = str(tmp_path / "cache")
    elsewhere = tmp_path / "elsewhere"  # no checkout around: only the wheel's notebooks
    elsewhere.mkdir()
    where = subprocess.run(
        [py, "-c", "import salesml.reports.registry as r; print(r.notebooks_dir())"],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
        env=env,
    ).stdout.strip()
    assert where == str(
        venv
        / "lib"
        / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "site-packages"
        / "salesml"
        / "_notebooks"
    )

    salesml = venv / "bin" / "salesml"
    run = subprocess.run(
        [
            salesml,
            "report",
            "run",
            "pipeline_weekly",
            "--data",
            str(tiny_dataset),
            "--period",
            "2026-Q1",
            "--out",
            "reports",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    page = elsewhere / "reports" / "pipeline_weekly" / "2026-Q1" / "pipeline_weekly.html"
    assert "Quarterly pipeline report" in page.read_text(encoding="utf-8")
    lineage = json.loads((page.parent / "run.json").read_text(encoding="utf-8"))
    assert lineage["executable"] == str(py) or Path(lineage["executable"]).parent == py.parent

    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [salesml, "serve", "--port", str(port), "--data", str(tiny_dataset), "--no-preheat"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=elsewhere,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    status = r.status
                    break
            except urllib.error.HTTPError as e:  # a token page is an answer too
                status = e.code
                break
            except OSError:
                time.sleep(0.5)
        assert status is not None and status < 500, (tmp_path / "serve.log").read_text()
        printed = (tmp_path / "serve.log").read_text()
        assert "funnel_explorer.ipynb" in printed  # the apps were found inside the wheel
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        log.close()
