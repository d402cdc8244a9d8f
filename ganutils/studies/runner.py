"""The loop every study shares: run what its results file lacks, append each row, resume.

Each study with a command line (:mod:`~ganutils.studies.ablate`,
:mod:`~ganutils.studies.footings`, :mod:`~ganutils.studies.modern`,
:mod:`~ganutils.studies.conditional`) lists its runs as :class:`Run` (the key
its row is found by, and how to train it) and hands them to
:func:`run_resumable`: a run whose key the results file already holds is
skipped, every other one appends its row (flushed to disk) as it finishes, so
a study stopped at any point resumes where it stopped. Their command lines
share :func:`parent_parser` (``--out``, ``--profile``, ``--seeds``) and
:func:`start`, and :func:`command_line` makes the whole of such a command line.
"""

from __future__ import annotations

__all__ = [
    "RESULTS_FILE",
    "Run",
    "budget_flag",
    "check_seeds",
    "command_line",
    "get_profile",
    "log_to_stderr",
    "parent_parser",
    "results_file",
    "run_resumable",
    "start",
]

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from .. import book as _book
from .. import config as _config
from . import common as _common

#: The results file of a study, in its ``--out`` folder.
RESULTS_FILE = "results.jsonl"


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a study.

    Attributes:
        key: What finds it among the rows of the results file: the study's
            ``key(row)`` of the row it appends.
        train: ``() -> row``: trains it and returns its whole results row.
    """

    key: tuple
    train: Callable[[], dict]


def get_profile(profile) -> _config.Profile:
    """``profile`` itself, or the run profile of that name (``None``: the default one)."""
    return profile if isinstance(profile, _config.Profile) else _config.get_profile(profile)


def check_seeds(seeds: Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``seeds`` names at least one seed."""
    if not seeds:
        raise ValueError("seeds must hold at least one seed")


def results_file(out_dir) -> Path:
    """``out_dir/results.jsonl``, its folder created when missing."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out / RESULTS_FILE


def run_resumable(
    path,
    runs: Iterable[Run],
    *,
    key: Callable[[Mapping], tuple],
    log: Callable[[str], object],
    describe: Callable[[dict, float], str],
) -> list[dict]:
    """Train every run whose key the results file lacks; append each row as it finishes.

    Args:
        path: The results file (JSON Lines; :func:`results_file`).
        runs: In the order to train them; a generator builds each only when reached.
        key: A row's key, as in :attr:`Run.key`; the file's keys are read once, first.
        log: Called with one line per finished run.
        describe: ``(row, seconds) -> line``: that line, from the row and the
            seconds the run took.

    Returns:
        All rows of the results file after the runs; ``log`` last gets how many
        ran and how many the file already held.
    """
    done = {key(row) for row in _common.read_rows(path)}
    trained = skipped = 0
    for run in runs:
        if run.key in done:
            skipped += 1
            continue
        started = time.perf_counter()
        row = run.train()
        _common.append_row(path, row)
        trained += 1
        log(describe(row, time.perf_counter() - started))
    already = _book.counted(skipped, "run")
    log(f"{_book.counted(trained, 'run')} trained, {already} already in {path} (skipped)")
    return _common.read_rows(path)


def parent_parser(
    *, out_required: bool = True, out_help: str = "folder of results.jsonl"
) -> argparse.ArgumentParser:
    """The flags every study's command line takes: ``--out``, ``--profile``, ``--seeds``.

    Pass it as ``argparse.ArgumentParser(parents=[parent_parser()])``.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--out", required=out_required, help=out_help)
    parser.add_argument("--profile", choices=list(_config.PROFILES), default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    return parser


def start(args: argparse.Namespace) -> _config.Profile:
    """Set up the run profile of ``--profile`` (seed 0) and print it to stderr."""
    profile = _config.setup(seed=0, profile=args.profile)
    print(profile, file=sys.stderr)
    return profile


def log_to_stderr(line: str) -> None:
    """A command line's ``log``: one line to stderr, flushed."""
    print(line, file=sys.stderr, flush=True)


def budget_flag(default: float | None, **options) -> dict:
    """The keywords of ``add_argument("--budget")``: seconds, into ``budget_seconds``."""
    return {
        "dest": "budget_seconds",
        "metavar": "BUDGET",
        "type": float,
        "default": default,
        **options,
    }


def command_line(
    run_study: Callable[..., object],
    *,
    prog: str,
    description: str,
    flags: Mapping[str, Mapping],
) -> Callable[[Sequence[str] | None], int]:
    """A study's ``main(argv=None) -> int``: parse ``argv``, set up the profile, call ``run_study``.

    ``main`` parses the flags of :func:`parent_parser` and the study's own,
    then runs ``run_study(out, seeds=..., profile=start(args), log=log_to_stderr,
    **own)``, ``own`` holding each of ``flags`` under its ``dest``: give ``dest``
    (and ``metavar``) where the keyword of ``run_study`` is not the flag's name,
    as :func:`budget_flag` does. It returns 0, the exit status.

    Args:
        run_study: The study's ``run_study``.
        prog: The command (``"python -m ganutils.studies.footings"``), for the usage line.
        description: What it does, in one line.
        flags: Each flag of the study (``"--toy-steps"``) and its ``add_argument`` keywords.
    """

    def main(argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(
            prog=prog, description=description, parents=[parent_parser()]
        )
        for flag, options in flags.items():
            parser.add_argument(flag, **options)
        args = parser.parse_args(argv)
        own = {name: value for name, value in vars(args).items() if name not in ("out", "profile")}
        run_study(args.out, profile=start(args), log=log_to_stderr, **own)
        return 0

    main.__doc__ = f"Command line: ``{prog} --out DIR`` ({description})"
    return main
