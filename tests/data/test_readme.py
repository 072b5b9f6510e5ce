"""README.md stays honest: its Python tour runs and its commands parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from salesml.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_tour_runs(demo_dataset_dir):
    code = "\n".join(_blocks("python"))
    assert "load_dataset" in code and "as_of" in code
    code = code.replace('"datasets/demo"', repr(str(demo_dataset_dir)))
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # the README's own example code
    assert namespace["data"].validation is None or namespace["data"].validation.ok
    assert len(namespace["truth"].faults) > 0


def _commands() -> list[list[str]]:
    out = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] == "salesml":
                    out.append(words[1:])
    return out


@pytest.mark.parametrize("argv", _commands(), ids=lambda a: " ".join(a[:2]))
def test_readme_commands_parse(argv):
    args = build_parser().parse_args(argv)
    assert callable(args.func)


def test_readme_has_exactly_the_two_setup_commands():
    setup = README.read_text(encoding="utf-8").split("## Set up", 1)[1].split("## ", 1)[0]
    cmds = [b.strip() for b in re.findall(r"```bash\n(.*?)```", setup, flags=re.S)]
    assert cmds == [
        "pip install -e . && salesml demo",
        'pip install -e ".[test]" && python -m pytest',
    ]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert cmds[1] in ci
