"""Reproducible installs: what the code imports is declared, what is declared is locked, and
what is locked is what these tests run on."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def _declared(extras=("dev", "spark")) -> list[Requirement]:
    texts = PROJECT["dependencies"] + [
        r for extra in extras for r in PROJECT["optional-dependencies"][extra]
    ]
    return [Requirement(t) for t in texts if not t.startswith("accrue")]


def _imported_distributions() -> set[str]:
    """The distributions that src/accrue's top-level and lazy imports come from."""
    modules = set()
    for path in (ROOT / "src" / "accrue").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    owners = metadata.packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - {"accrue"}
    return {canonicalize_name(owners[m][0]) for m in third_party if m in owners}


def test_every_imported_package_is_declared():
    declared = {canonicalize_name(r.name) for r in _declared()}
    undeclared = _imported_distributions() - declared
    assert not undeclared, f"imported by src/accrue but not in pyproject.toml: {undeclared}"


def test_every_declared_requirement_is_locked_within_its_range():
    locked = _locked()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is declared but not in requirements.lock: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{name}=={locked[name]} in requirements.lock is outside {requirement.specifier}"
        )


def test_the_tests_run_on_the_locked_versions():
    drift = {
        name: (version, metadata.version(name))
        for name, version in _locked().items()
        if metadata.version(name) != version
    }
    assert not drift, f"installed versions differ from requirements.lock: {drift}"


def test_the_license_is_an_spdx_expression():
    """A license table is deprecated by setuptools (and breaks builds from 2027-02-18)."""
    assert PROJECT["license"] == "Apache-2.0"


def test_the_license_text_goes_with_the_package():
    """The license declared is the license shipped: license-files names its text, which every
    wheel and source archive then carries (setuptools' License-File)."""
    shipped = [path for pattern in PROJECT["license-files"] for path in ROOT.glob(pattern)]
    assert shipped, f"no file matches license-files {PROJECT['license-files']}"
    text = " ".join(shipped[0].read_text().split())
    assert text.startswith("Apache License Version 2.0, January 2004")
    assert "END OF TERMS AND CONDITIONS" in text
