"""The house rules that tools can check: ruff, mypy (strict) and ansible-lint are clean."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    checked = run(sys.executable, "-m", "ruff", "check", "provision", "tests", "bench")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_mypy_strict_is_clean() -> None:
    checked = run(sys.executable, "-m", "mypy")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ansible_lint_is_clean() -> None:
    lint = shutil.which("ansible-lint")
    if lint is None:
        pytest.skip("ansible-lint is not installed (pip install -e '.[test]')")
    checked = run(lint, "--offline", "playbooks/")
    assert checked.returncode == 0, checked.stdout + checked.stderr
