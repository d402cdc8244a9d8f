"""No hand-typed run figures: the prose of every chapter gets its measured numbers by glue.

A number that comes from a run (a time, an FD, a ratio, a percentage) must
reach a chapter's markdown through ``{glue:text}`` (see :mod:`ganutils.book`)
or be printed by the code cell beside it, so that a rebuild under another
profile, seed or machine cannot leave the text behind.

How the rule decides. Each markdown cell is cut into sentences (and table
rows, and list items). A sentence that cites a paper (``{cite}``,
``{cite:p}``, ``{cite:t}``) is a quoted paper figure and passes. From the
others, inline code, math, MyST roles (glue included), links' addresses and
HTML comments are removed, and what is left fails if it holds:

- a decimal number (``23.4``, ``0.80``), a multiplier (``2.4x``, ``10x``) or
  a percentage (``14%``) that is not one of :data:`DESIGN_CONSTANTS`;
- a duration, in digits (``20 s``, ``5 min``, ``1.10 h``) or in words
  (``about twenty seconds``, ``a minute or two``, ``most of an hour``);
- a ratio in words (``three times as long``, ``two to four times dearer``,
  ``a fifth to a third``, ``two orders of magnitude``), unless it is a
  design setting listed in :data:`DESIGN_RATIOS`;
- a number next to a metric that only a run can produce (``FD about 440``,
  ``1,137 images/s``, ``96.8% accuracy``).

Integers elsewhere (``28 x 28``, ``batch 64``, ``8 modes``, ``60,000
digits``) and scientific notation (``2e-4``, ``1e-3``) are design values and
pass. The allow-lists below are short and each entry says why it is a design
value rather than a measurement.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))

#: Decimals, multipliers and percentages that are settings or mathematical
#: facts, not measurements.
DESIGN_CONSTANTS = frozenset(
    # DCGAN: LeakyReLU slope, N(0, 0.02) weights, Adam's beta_1 = 0.5 and beta_2 = 0.999.
    "0.2 0.02 0.5 0.999 "
    # Keras' defaults quoted against them: LeakyReLU 0.3, Adam beta_1 = 0.9, BatchNorm
    # epsilon 0.001.
    "0.3 0.9 0.001 "
    # Label targets and smoothing ranges (real in [0.7, 1.2], fake in [0, 0.3]; one-sided 0.9).
    "0.0 0.7 1.0 1.2 "
    # Toy mixtures: mode standard deviation; monitor thresholds (D loss 0.05).
    "0.05 "
    # WGAN's clipping bound c = 0.01; dropout rates from the sources (0.3 to 0.6), 0.1.
    "0.01 0.6 0.1 "
    # Mathematical values: 2 ln 2 (the loss at chance), ln 10 (the largest class KL),
    # log 2, log 9, 1/sqrt(3), sqrt(100 / 3), the mean 0.95 of U[0.7, 1.2].
    "1.386 2.30 2.303 0.693 2.2 0.577 5.8 0.95 "
    # Settings of the studies: 5% label noise (and the verdict rule's 5% floor),
    # the monitor's 30% diversity threshold, 2.5% of samples to cover a class,
    # 95% intervals, a quarter and half of the fair share, chapter 3's 20% flip demo,
    # chapter 8's 1% band around the plain GAN's FD.
    "5% 30% 2.5% 95% 25% 50% 20% 1% "
    # Design multipliers: D 10x or 500x slower or faster than G in chapters 5 and 6.
    "10x 500x".split()
)

#: Ratios in words that describe a setting of an experiment, not its outcome.
DESIGN_RATIOS = (
    "500 times more slowly",  # chapters 5 and 6: D's learning rate is G's / 500
    "five times per generator step",  # WGAN's d_steps=5
    "five times as hard",  # chapter 6: d_steps=5
    "ten times G's learning rate",  # chapter 6: D at 10x G's rate
    "ten times the baseline's learning rate",  # chapter 6: the oscillation setting
    "4 and 16 times the paper's learning rate",  # chapter 7: ganutils.studies.footings.SWEEP
    "16 times them",  # chapter 7: the MNIST sweep's setting (MNIST_SETTINGS)
    "16 times the papers' rates",  # chapter 7: the rescue-mnist footing's (MNIST_FOOTINGS)
)

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    "thirty|forty|fifty|sixty|ninety|a hundred|hundred|a few|few|several"
)
_PATTERNS = {
    "decimal": re.compile(r"(?<![\w.,])\d+\.\d+(?:\s?%|x\b)?(?![\w.]\d)"),
    "multiplier": re.compile(r"(?<![\w.,])\d+x\b"),
    "percentage": re.compile(r"(?<![\w.,])\d+\s?%"),
    # "20 s", "1.10 h", "5min"; not "all 3s" (digits, plural).
    "duration": re.compile(
        r"(?<![\w.,])(?:\d[\d,]*(?:\.\d+)?\s(?:s|ms|min|h|sec|seconds?|minutes?|hours?)"
        r"|\d+(?:\.\d+)?(?:ms|min|h)|\d+\.\d+s)\b"
    ),
    "duration in words": re.compile(
        rf"\b(?:(?:{_NUMBER_WORDS})\s+(?:seconds?|minutes?|hours?)"
        r"|(?:an?|most of an?|half an?)\s+(?:minutes?|hours?))\b",
        re.IGNORECASE,
    ),
    "ratio in words": re.compile(
        rf"\b(?:twice as|twice the|half as|(?:{_NUMBER_WORDS}|\d+)\s+times\b"
        r"|a (?:fifth|third|quarter) to (?:a|one) (?:fifth|third|quarter|half)"
        r"|orders? of magnitude)",
        re.IGNORECASE,
    ),
    "measured metric": re.compile(
        r"\bFDs?\b\W+(?:(?:about|near|of|at|is|was|around)\W+){0,2}\d"
        r"|\d[\d,.]*\s*(?:images/s|steps/s)"
        r"|\d[\d,.]*\s*%?\s+(?:accuracy|held-out accuracy)",
        re.IGNORECASE,
    ),
}
_REMOVE = [
    re.compile(r"<!--.*?-->", re.DOTALL),
    re.compile(r"\$\$.*?\$\$", re.DOTALL),
    re.compile(r"\$[^$\n]+\$"),
    re.compile(r"\{[\w:-]+\}`[^`]*`"),  # MyST roles: {glue:text}`fd:.1f`, {ref}`label`, ...
    re.compile(r"`[^`]*`"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r"https?://\S+"),
]


def sentences(markdown: str) -> list[str]:
    """Sentences, table rows and list items of a markdown cell."""
    parts = []
    for block in re.split(r"\n\s*\n|\n(?=\s*[|*-] )|\n(?=#)", markdown):
        parts += re.split(r"(?<=[.!?])\s+(?=[A-Z(*_`{])", block)
    return [part.strip() for part in parts if part.strip()]


def hand_typed_figures(markdown: str) -> list[tuple[str, str, str]]:
    """``(kind, token, sentence)`` for every run figure typed into ``markdown``."""
    found = []
    for sentence in sentences(markdown):
        if "{cite" in sentence:
            continue  # a paper's figure, quoted with its citation
        text = sentence
        for pattern in _REMOVE:
            text = pattern.sub(" ", text)
        text = " ".join(text.split())  # markdown wraps lines anywhere
        for ratio in DESIGN_RATIOS:
            text = text.replace(ratio, " ")
        for kind, pattern in _PATTERNS.items():
            for match in pattern.finditer(text):
                token = match.group(0).strip()
                if token.replace(" ", "") in DESIGN_CONSTANTS:
                    continue
                found.append((kind, token, " ".join(sentence.split())[:160]))
    return found


def _markdown_cells(path: Path) -> list[tuple[int, str]]:
    cells = json.loads(path.read_text())["cells"]
    return [
        (index, "".join(cell["source"]))
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "markdown"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_chapter_types_a_run_figure_by_hand(path):
    problems = [
        f"cell {index}: {kind} {token!r} in: {sentence}"
        for index, markdown in _markdown_cells(path)
        for kind, token, sentence in hand_typed_figures(markdown)
    ]
    assert not problems, "glue these (ganutils.book.glue) or print them:\n" + "\n".join(problems)


# -- The rule catches what it is for, and lets design values through ---------------------


def test_the_rule_catches_the_hand_typed_figures_the_book_once_had():
    # Chapter 10's timing table and its reading, and chapter 7's cost sentence (before glue).
    chapter_9 = (
        "| global batch | devices | precision | XLA | images/s | vs 1 device, float32, no XLA |\n"
        "|---:|---|---|---|---:|---:|\n"
        "| 64 | 1 | float32 | off | 1,137 | 1.00x |\n"
        "| 64 | 1 | float32 | on | 501 | 0.44x |\n\n"
        "Nothing in the table is faster than the plain step: bfloat16 is about even, and "
        "two logical CPUs run at a fifth to a third of one device's speed."
    )
    chapter_7 = (
        "WGAN and WGAN-GP are two to four times dearer per step, and neither rescued the run."
    )
    chapter_5 = "Training the classifier takes about twenty seconds the first time."
    chapter_8 = "The full ablation takes most of an hour on a laptop CPU, FD about 440."
    kinds = {kind for kind, _, _ in hand_typed_figures(chapter_9)}
    assert {"decimal", "ratio in words"} <= kinds
    assert [t for k, t, _ in hand_typed_figures(chapter_7)] == ["four times"]
    assert hand_typed_figures(chapter_5)[0][:2] == ("duration in words", "twenty seconds")
    found_8 = {(k, t) for k, t, _ in hand_typed_figures(chapter_8)}
    assert ("duration in words", "most of an hour") in found_8
    assert any(kind == "measured metric" for kind, _ in found_8)


@pytest.mark.parametrize(
    "design",
    [
        "The generator maps a 100-dimensional latent vector through a 7 x 7 feature map.",
        "Adam with a learning rate of 2e-4 and beta_1 = 0.5, batch 64, 5 x 5 kernels.",
        "The ring has 8 modes of standard deviation 0.05; the grid 25 modes on 60,000 digits.",
        "The run ends at FD {glue:text}`final_fd:.1f`, {glue:text}`ratio:.1f`x the floor.",
        "Here D learns 500 times more slowly than G.",
        "WGAN-GP uses Adam at 1e-4 with beta_1 = 0 and beta_2 = 0.9 {cite:p}`gulrajani2017`.",
        "The step code is `gan.fit(dataset, epochs=5)` and $D(x) = 0.73$.",
    ],
)
def test_the_rule_lets_design_values_through(design):
    assert hand_typed_figures(design) == []


def _glued_patterns(path: Path) -> list[re.Pattern]:
    """The keys the code cells glue, as patterns (an f-string key matches any word there)."""
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    patterns = []
    for key in re.findall(r"\bglue\(\s*f?[\"']([^\"']+)[\"']", code):
        parts = re.split(r"\{[^}]*\}", key)
        patterns.append(re.compile(r"\w+".join(re.escape(part) for part in parts)))
    return patterns


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_glued_name_in_the_prose_is_glued_by_the_chapter(path):
    patterns = _glued_patterns(path)
    used = {
        key
        for _, markdown in _markdown_cells(path)
        for key in re.findall(r"\{glue:\w+\}`([\w]+)", markdown)
    }
    missing = sorted(key for key in used if not any(p.fullmatch(key) for p in patterns))
    assert not missing, f"the prose uses glue keys that no code cell glues: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_glue_roles_are_well_formed(path):
    """``{glue:text}`name:spec``` with a valid format spec (a stray brace breaks the build)."""
    bad = []
    for _, markdown in _markdown_cells(path):
        if re.search(r"`\{glue:", markdown):  # inside inline code it is not a role
            bad.append("a glue role inside backticks")
        for key, spec in re.findall(r"\{glue:text\}`(\w+)(?::([^`]*))?`", markdown):
            if spec:
                try:
                    format(1.5, spec)
                except ValueError:
                    bad.append(f"{key}:{spec}")
    assert not bad, bad
