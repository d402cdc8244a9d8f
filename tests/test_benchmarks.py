"""The benchmark scripts still run (tiny sizes; their timings are not checked here)."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script, *args):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_step_benchmark_prints_a_ratio_per_method():
    out = _run("step_benchmark.py", "--batch-sizes", "16", "--steps", "2")
    for method in ("ganutils", "ganutils-simul", "tf-tutorial", "keras2-loop"):
        assert f" {method} " in out
    assert "1.00x" in out  # ours against itself


def test_time_to_quality_reports_each_seed(tmp_path):
    out = _run(
        "time_to_quality.py",
        "--setups", "book", "--seeds", "0", "--budget", "1",
        "--set", "epochs=1", "--json", str(tmp_path / "checks.json"),
    )  # fmt: skip
    assert "book            seed 0:" in out
    assert "mean time to good" in out
    assert (tmp_path / "checks.json").read_text().startswith("{")
