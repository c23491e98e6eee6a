"""The repository's pytest rule (conftest.py): under CI=true a skipped test fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"


@pytest.fixture
def suite_with_a_skip(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(ROOT_CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_spark="""
        import pytest

        def test_runs():
            assert True

        @pytest.mark.skip(reason="pyspark is not installed")
        def test_spark():
            pass
        """
    )
    return pytester


def test_a_skip_fails_the_run_under_ci(suite_with_a_skip: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    result = suite_with_a_skip.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*CI=true: 1 skipped tests fail the run*", "*test_spark.py::test_spark*"])


def test_a_skip_is_reported_but_passes_elsewhere(suite_with_a_skip: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = suite_with_a_skip.runpytest_subprocess("-rs")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*SKIPPED*pyspark is not installed*"])
