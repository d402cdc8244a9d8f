"""Every technique section shows its implementation (issue: "Show the code").

A section of chapters 2, 3, 6, 7, 9, 10 and 11 that teaches a trick,
stabiliser, loss, penalty, metric or conditioning method has a code cell with
its plain Keras/TensorFlow code (a ``def``/``class``, Keras layers, a
``GradientTape``) or the package's own source through
``ganutils.book.show_source``. A section that teaches no technique of its own
is listed below with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = (
    "02_dcgan_practices",
    "03_ganhacks_tricks",
    "06_failure_modes",
    "07_stabilisers",
    "09_modern_baseline",
    "10_going_bigger",
    "11_use_the_labels",
)
# Code that shows an implementation: the package's source, or code written on the page.
SHOWS_CODE = re.compile(
    r"show_source\(|^\s*(def|class) \w|\blayers\.[A-Z]\w*\(|tf\.GradientTape", re.M
)
# Sections of every chapter that teach no technique.
EVERY_CHAPTER = {"Set up", "What we saw", "Exercises"}
# (chapter, section title) -> why it teaches no technique of its own.
NOT_TECHNIQUES = {
    ("06_failure_modes", "Watch a healthy run"): "the recipe of chapter 4 on the toy problem",
    ("07_stabilisers", "The footings: a ring that collapses, and runs that do not"): (
        "the set-ups the stabilisers are measured on, not a stabiliser"
    ),
    ("07_stabilisers", "On MNIST: the healthy recipe"): "measures stabilisers shown above",
    ("07_stabilisers", "On MNIST: a collapse to rescue"): "measures stabilisers shown above",
    ("07_stabilisers", "On MNIST: augmentation where data is scarce"): (
        "measures the augmentation shown above"
    ),
    ("09_modern_baseline", "Which tricks still matter under the modern loss?"): (
        "an ablation of practices whose code chapters 2 and 3 show"
    ),
    ("10_going_bigger", "Decide whether to scale"): "advice on when to scale, no code",
    ("10_going_bigger", "Measure"): "timings of the options shown above",
    ("10_going_bigger", "Run it on a Colab TPU"): "a command line, shown as bash",
    ("10_going_bigger", "Run it on several machines"): "command lines, shown as bash",
}


def sections(name: str) -> list[tuple[str, list[str]]]:
    """The ``##`` sections of a chapter: (title, the sources of its code cells)."""
    notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    found: list[tuple[str, list[str]]] = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            found += [(title, []) for title in re.findall(r"^## (.+)$", source, re.M)]
        elif found:
            found[-1][1].append(source)
    return found


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_technique_section_shows_its_code(name):
    missing = [
        title
        for title, code in sections(name)
        if title not in EVERY_CHAPTER
        and (name, title) not in NOT_TECHNIQUES
        and not any(SHOWS_CODE.search(source) for source in code)
    ]
    assert not missing, f"{name}: technique sections without their code: {missing}"


def test_every_exemption_names_a_section_that_exists():
    titles = {(name, title) for name in CHAPTERS for title, _ in sections(name)}
    assert set(NOT_TECHNIQUES) <= titles, set(NOT_TECHNIQUES) - titles


def test_the_rule_sees_code_and_not_calls():
    assert SHOWS_CODE.search("show_source(ganutils.stabilizers.r1_penalty)")
    assert SHOWS_CODE.search("def step(images):\n    ...")
    assert SHOWS_CODE.search("x = keras.layers.Conv2D(64, 4, strides=2)(x)")
    assert not SHOWS_CODE.search("result = ganutils.toy.train_toy(config)")
    assert not SHOWS_CODE.search("penalty = ganutils.stabilizers.r1_penalty(critic, real)")
