"""The CI skip check (.ci/skip_report.py) on JUnit reports of known content."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / ".ci" / "skip_report.py"


def _junit(tmp_path, cases: list[tuple[str, str | None, str]]) -> Path:
    """A JUnit report with one testcase per (name, skip type or None, message)."""
    rows = []
    for name, kind, message in cases:
        inner = f'<skipped type="{kind}" message="{message}">x</skipped>' if kind else ""
        rows.append(f'<testcase classname="tests.test_x" name="{name}">{inner}</testcase>')
    path = tmp_path / "junit.xml"
    path.write_text(f"<testsuites><testsuite>{''.join(rows)}</testsuite></testsuites>")
    return path


def _check(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60
    )


def test_environment_skips_pass_and_are_counted_by_reason(tmp_path):
    report = _junit(
        tmp_path,
        [
            ("test_a", "pytest.skip", "needs a CUDA device"),
            ("test_b", "pytest.skip", "needs a CUDA device"),
            ("test_c", "pytest.xfail", "a known failure"),  # xfail: not a skip
            ("test_d", None, ""),
        ],
    )
    done = _check(report)
    assert done.returncode == 0, done.stderr
    assert "skipped tests: 2" in done.stdout and "2  needs a CUDA device" in done.stdout
    assert "a known failure" not in done.stdout


def test_a_skip_that_is_not_about_the_environment_fails_naming_the_tests(tmp_path):
    report = _junit(
        tmp_path,
        [
            ("test_a", "pytest.skip", "needs a CUDA device"),
            *((f"test_m[{k}]", "pytest.skip", "generates from noise") for k in range(5)),
        ],
    )
    done = _check(report)
    assert done.returncode == 1
    assert "5  generates from noise" in done.stdout
    assert "generates from noise: tests.test_x::test_m[0]" in done.stderr
    assert "and 2 more" in done.stderr and "needs a CUDA device:" not in done.stderr


def test_an_unreadable_report_is_an_error_naming_it(tmp_path):
    (tmp_path / "bad.xml").write_text("<testsuites>")
    done = _check(tmp_path / "bad.xml")
    assert done.returncode == 2 and "bad.xml" in done.stderr
