"""The two installation routes list the same packages (with the test and site extras); CI runs the README's test."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pip_section(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    out = []
    for line in lines[start + 1 :]:
        m = re.match(r"\s+-\s+\"?([^\"]+)\"?\s*$", line)
        if not m:
            break
        out.append(m.group(1))
    return out


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = set(project["dependencies"]) | set(extras["dev"]) | set(extras["site"])
    pip = _pip_section((ROOT / "environment.yml").read_text())
    assert "-e ." in pip
    assert set(pip) - {"-e ."} == wanted


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make reproduce" in readme
    assert re.search(r"^make test$", ci, re.M)
