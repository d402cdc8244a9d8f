"""The benchmark scripts still run (tiny sizes; their timings are not checked here)."""

import json
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


def test_step_benchmark_prints_a_ratio_and_its_spread_per_method():
    out = _run("step_benchmark.py", "--batch-sizes", "16", "--steps", "2", "--repeats", "2")
    for method in ("ganutils", "ganutils-fresh", "ganutils-simul", "tf-tutorial", "keras2-loop"):
        assert f" {method} " in out
    assert "1.00x [1.00, 1.00]" in out  # the tutorial against itself, every round
    assert "2 rounds of 2 timed steps" in out


def test_time_to_quality_writes_one_row_per_run_and_resumes(tmp_path):
    args = ("--setups", "book", "--seeds", "0", "--set", "epochs=1", "--out", str(tmp_path))
    out = _run("time_to_quality.py", *args)
    assert "book                   seed 0: 1 epochs" in out
    assert "good means FD <=" in out
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["setup"] == "book" and rows[0]["seed"] == 0
    check = rows[0]["checks"][0]
    assert {"fd_book", "fd_second", "bar_book", "bar_second", "rt_train", "rt_heldout"} <= set(
        check
    )
    assert rows[0]["commit"] and set(rows[0]["calibration"]) == {"book", "second"}
    assert "already in" in _run("time_to_quality.py", *args)  # resumes: nothing re-run
