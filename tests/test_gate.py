"""`spotadvisor gate` as CI runs it: exit codes, outputs, git refs.

Each case runs the CLI in-process (CliRunner, in the case's working folder and
environment) and reads the same exit code, stdout and stderr a subprocess would give;
``test_a_real_subprocess_gives_the_same_answer`` checks that equivalence on one case
with a real ``python -m spotadvisor gate`` process, as CI starts it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.conftest import FIXTURES, ROOT

GATE = (FIXTURES / "gate").relative_to(ROOT)  # relative: outputs name files as CI would
GOLDEN = Path(__file__).resolve().parent / "golden"


def gate_subprocess(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spotadvisor", "gate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def gate(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The gate in-process, in ``cwd`` with ``env`` added: what a subprocess would give."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, ["gate", *args], env=env)
    finally:
        os.chdir(before)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # a subprocess would print the traceback to stderr and exit 1
        stderr = result.stderr + "".join(traceback.format_exception(result.exception))
    else:
        stderr = result.stderr
    return subprocess.CompletedProcess(
        ["spotadvisor", "gate", *args], result.exit_code, result.stdout, stderr
    )


def with_base(
    plan: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return gate(str(GATE / f"{plan}.yaml"), "--baseline", str(GATE / "base.yaml"), *args, env=env)


@pytest.mark.parametrize(
    ("plan", "flags", "code", "broken"),
    [
        # plan            extra rules                             exit  rules broken
        ("cheaper", ["--policy", str(GATE / "policy.yaml")], 0, set()),
        ("dearer", ["--max-increase", "10%"], 1, {"max_increase"}),
        ("dearer", ["--max-increase", "5000"], 1, {"max_increase"}),  # USD per month
        ("dearer", ["--max-increase", "60%"], 0, set()),
        ("cheaper", ["--max-monthly-cost", "40000"], 1, {"max_monthly_cost"}),
        ("risky", ["--max-breach-probability", "0.05"], 1, {"max_breach_probability"}),
        ("risky", ["--min-availability", "99.9"], 1, {"min_availability"}),
        ("risky", ["--forbid-band", ">20%"], 1, {"forbid_band"}),
        (
            "risky",
            ["--policy", str(GATE / "policy.yaml")],
            1,
            {"max_breach_probability", "min_availability", "forbid_band"},
        ),
    ],
)
def test_rules_and_exit_codes(plan: str, flags: list[str], code: int, broken: set[str]) -> None:
    done = with_base(plan, *flags, "--format", "json")
    assert done.returncode == code, done.stderr
    doc = json.loads(done.stdout)
    assert {r["rule"] for r in doc["rules"] if not r["passed"] and r["level"] == "fail"} == broken
    assert doc["passed"] is (code == 0) and doc["schema_version"] == 1


def test_warn_only_rules_never_fail_the_build() -> None:
    done = with_base(
        "slightly-dearer", "--policy", str(GATE / "policy.yaml"), "--format", "markdown"
    )
    assert done.returncode == 0, done.stderr
    assert "✅ passed, ⚠️ 1 warning" in done.stdout and "warn_max_increase" in done.stdout


def test_unchanged_fleet_has_no_difference_at_all() -> None:
    doc = json.loads(
        gate(str(GATE / "base.yaml"), "--baseline", str(GATE / "base.yaml"), "-f", "json").stdout
    )
    assert all(c["difference"] == 0 and not c["significant"] for c in doc["changes"])


def test_markdown_comment_golden() -> None:
    done = with_base("risky", "--policy", str(GATE / "policy.yaml"), "--format", "markdown")
    assert done.returncode == 1
    text = re.sub(r"spotadvisor \d+\.\d+\.\d+\S*", "spotadvisor X", done.stdout)
    golden = GOLDEN / "gate_comment.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), (
        "gate markdown changed: inspect, then UPDATE_GOLDEN=1 if intended"
    )
    # violations come before the before/after table
    assert text.index("**Violations**") < text.index("| Figure | Baseline |")


def test_a_real_subprocess_gives_the_same_answer() -> None:
    """`python -m spotadvisor gate` as CI starts it: the same exit code and outputs."""
    args = (
        str(GATE / "risky.yaml"),
        "--baseline",
        str(GATE / "base.yaml"),
        "--policy",
        str(GATE / "policy.yaml"),
        "--format",
        "markdown",
    )
    real = gate_subprocess(*args)
    assert real.returncode == 1, real.stderr
    assert "Traceback" not in real.stderr
    assert "**Violations**" in real.stdout
    assert gate(*args).stdout == real.stdout


def test_github_annotations_and_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    done = with_base(
        "risky",
        "--forbid-band",
        ">20%",
        "--format",
        "github",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert done.returncode == 1
    assert "::error file=" in done.stdout and "title=spotadvisor gate forbid_band::" in done.stdout
    assert "### spotadvisor gate: ❌" in summary.read_text()


def test_junit_report() -> None:
    done = with_base("risky", "--policy", str(GATE / "policy.yaml"), "--format", "junit")
    root = ET.fromstring(done.stdout)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "3" and suite.get("tests") == "5"
    assert len(root.findall(".//failure")) == 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([str(GATE / "missing.yaml")], "no such file"),
        ([str(GATE / "base.yaml"), "--max-increase", "lots"], "not an increase"),
        ([str(GATE / "base.yaml"), "--forbid-band", "huge"], "not a published interruption band"),
        ([str(GATE / "base.yaml"), "--forbid-band", ">30%"], "the rule could never fire"),
        ([str(GATE / "base.yaml"), "--min-availability", "0.999"], "write 99.9"),
        ([str(GATE / "base.yaml"), "--baseline", "a.yaml", "--baseline-ref", "main"], "not both"),
    ],
)
def test_bad_input_exits_2(args: list[str], expected: str) -> None:
    done = gate(*args)
    assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr


def test_policy_file_typos_get_did_you_mean(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("max_incrase: 10%\n")
    done = gate(str(GATE / "base.yaml"), "--policy", str(policy))
    assert done.returncode == 2 and "Did you mean 'max_increase'" in done.stderr


def test_stale_data_exits_3() -> None:
    # the example fleet takes its prices from the embedded snapshot (2025)
    done = gate(str(ROOT / "examples" / "llama70b-fleet.yaml"), "--max-data-age", "30d")
    assert done.returncode == 3 and "days old" in done.stderr and "max_data_age" in done.stderr


# -- --baseline-ref in a real git repository -----------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def git(*args: str) -> None:
        subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, env={**os.environ, **env}
        )

    git("init", "-q", "-b", "main")
    (tmp_path / "fleets").mkdir()
    shutil.copy(GATE / "base.yaml", tmp_path / "fleets" / "chat.yaml")
    git("add", ".")
    git("commit", "-q", "-m", "baseline")
    git("checkout", "-q", "-b", "change")
    shutil.copy(GATE / "dearer.yaml", tmp_path / "fleets" / "chat.yaml")
    shutil.copy(GATE / "cheaper.yaml", tmp_path / "fleets" / "new.yaml")
    git("add", ".")
    git("commit", "-q", "-m", "change")
    return tmp_path


def test_baseline_ref_reads_the_file_at_that_revision(repo: Path) -> None:
    done = gate(
        "fleets/chat.yaml",
        "--baseline-ref",
        "main",
        "--max-increase",
        "10%",
        "-f",
        "json",
        cwd=repo,
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert (
        doc["baseline"] == "main:chat.yaml" and doc["baseline_note"] == "baseline: main:chat.yaml"
    )
    increase = next(r for r in doc["rules"] if r["rule"] == "max_increase")
    assert not increase["passed"] and increase["figure"].startswith("+53.7%")


def test_baseline_ref_without_the_file_is_a_new_fleet(repo: Path) -> None:
    done = gate(
        "fleets/new.yaml",
        "--baseline-ref",
        "main",
        "--max-increase",
        "10%",
        "-f",
        "markdown",
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    assert "new fleet: new.yaml does not exist at main" in done.stdout


def test_unknown_baseline_ref_exits_2(repo: Path) -> None:
    done = gate("fleets/chat.yaml", "--baseline-ref", "origin/nope", cwd=repo)
    assert done.returncode == 2 and "not a git revision" in done.stderr


def test_baseline_ref_outside_git_exits_2(tmp_path: Path) -> None:
    shutil.copy(GATE / "base.yaml", tmp_path / "plan.yaml")
    done = gate("plan.yaml", "--baseline-ref", "main", cwd=tmp_path)
    assert done.returncode == 2 and "not inside a git repository" in done.stderr


def test_an_increase_rule_without_a_baseline_says_it_was_not_applied() -> None:
    done = gate(str(GATE / "base.yaml"), "--max-increase", "10%")
    assert done.returncode == 0, done.stderr
    assert "note: max_increase not applied: there is no baseline to compare with" in done.stderr
