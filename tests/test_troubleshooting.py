"""The troubleshooting page and the training monitor come from the same rows, and agree.

``book/troubleshooting.md`` holds a hand-written introduction and tables that
:func:`ganutils.diagnostics.troubleshooting_markdown` renders from
:data:`ganutils.diagnostics.TROUBLESHOOTING`. These tests fail when the page
falls behind the rows (regenerate it with ``python -m ganutils.diagnostics
--write-troubleshooting book/troubleshooting.md``), when a monitor signature
has no row, when the monitor prints other advice than its row's fixes, and
when a row links a section label that no chapter or page defines.
"""

from __future__ import annotations

import collections
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from ganutils import diagnostics

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "troubleshooting.md"
LABEL = re.compile(r"^\(([\w-]+)\)=\s*$", re.MULTILINE)

#: The symptoms the page must cover (issue 19), as words of the rows' symptoms.
REQUIRED = (
    "D's loss heads to zero",
    "gradient vanishes",
    "Gradient norms spike",
    "NaN or infinite",
    "One digit only, or a few digits",
    "Quality oscillates",
    "losses look fine, the samples are bad",
    "Quality peaks, then declines",
    "checkpoint will not resume",
    "Results differ between runs",
)


def defined_labels() -> set[str]:
    """Every MyST label of the book: the chapters' markdown cells and the prose pages."""
    labels = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                labels.update(LABEL.findall("".join(cell["source"])))
    for path in sorted((ROOT / "book").glob("*.md")):
        labels.update(LABEL.findall(path.read_text(encoding="utf-8")))
    return labels


def test_the_page_is_what_the_rows_render():
    text = PAGE.read_text(encoding="utf-8")
    assert diagnostics.troubleshooting_page(text) == text, (
        "book/troubleshooting.md differs from ganutils.diagnostics.TROUBLESHOOTING; run "
        "python -m ganutils.diagnostics --write-troubleshooting book/troubleshooting.md"
    )
    assert diagnostics.troubleshooting_markdown() in text
    assert text.startswith("(troubleshooting)=\n# Troubleshooting\n")


def test_every_signature_has_exactly_one_row():
    named = collections.Counter(r.signature for r in diagnostics.TROUBLESHOOTING if r.signature)
    assert set(named) == set(diagnostics.SIGNATURES), set(named) ^ set(diagnostics.SIGNATURES)
    assert all(count == 1 for count in named.values()), named


def test_the_page_covers_the_symptoms_readers_arrive_with():
    symptoms = " / ".join(row.symptom for row in diagnostics.TROUBLESHOOTING)
    missing = [words for words in REQUIRED if words not in symptoms]
    assert not missing, missing
    for row in diagnostics.TROUBLESHOOTING:
        assert row.symptom and row.causes and row.check and row.fixes and row.sections, row


def test_every_link_target_exists():
    labels = defined_labels()
    linked = {label for row in diagnostics.TROUBLESHOOTING for label in row.sections}
    assert linked - labels == set(), f"no chapter or page defines {sorted(linked - labels)}"
    # The hand-written introduction's references too.
    refs = set(re.findall(r"\{ref\}`(?:[^`<]*<)?([\w-]+)>?`", PAGE.read_text(encoding="utf-8")))
    assert refs - labels == set(), sorted(refs - labels)
    assert linked <= refs


def test_the_thresholds_on_the_page_are_the_monitors_defaults():
    monitor = diagnostics.TrainingMonitor(verbose=False)
    table = diagnostics.troubleshooting_markdown()
    assert f"below {monitor.d_loss_floor:g}." in table
    assert f"below {monitor.min_grad_norm:g}." in table
    assert f"exceeds {monitor.max_grad_norm:g}." in table
    assert f"below {monitor.diversity_floor:.0%} of the real data's." in table


class FakeModel:
    """Stands in for a GAN: a stop flag and a sampler returning fixed samples."""

    def __init__(self, samples):
        self.stop_training = False
        self.samples = samples

    def sampler(self, latents, training=False):
        return self.samples


def fire(signature: str) -> diagnostics.Event:
    """Drive a monitor through one epoch that shows ``signature``; its one event."""
    rng = np.random.default_rng(0)
    healthy = {"d_loss": 1.3, "g_loss": 0.8, "d_grad_norm": 2.0, "g_grad_norm": 1.5}
    step, epoch = dict(healthy), dict(healthy)
    samples = rng.normal(size=(64, 2))
    if signature == "discriminator_wins":
        epoch["d_loss"] = 0.01
    elif signature == "vanishing_gradient":
        epoch["g_grad_norm"] = 1e-5
    elif signature == "exploding_gradient":
        step["d_grad_norm"] = 1e4
    elif signature == "collapse":
        samples = np.repeat(samples[:1], 64, axis=0)
    elif signature == "non_finite":
        step["g_loss"] = math.nan
    monitor = diagnostics.TrainingMonitor(
        verbose=False, latents=np.zeros((64, 4)), reference=rng.normal(size=(256, 2))
    )
    monitor.set_model(FakeModel(samples))
    monitor.on_epoch_begin(0)
    monitor.on_train_batch_end(0, step)  # batch 0: the running mean is the step's value
    monitor.on_epoch_end(0, epoch)
    (event,) = monitor.events
    assert event.signature == signature
    return event


@pytest.mark.parametrize("signature", diagnostics.SIGNATURES)
def test_the_monitor_prints_its_rows_fixes(signature):
    (row,) = [r for r in diagnostics.TROUBLESHOOTING if r.signature == signature]
    message = fire(signature).message
    assert message.endswith(f". {row.fixes}"), (message, row.fixes)
    table = diagnostics.troubleshooting_markdown()
    assert f"| {row.fixes} |" in table  # the same words in the fixes column


def test_the_page_regenerates_in_place(tmp_path, capsys):
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(diagnostics.PAGE_BEGIN) + len(diagnostics.PAGE_BEGIN)
    stale = tmp_path / "troubleshooting.md"
    stale.write_text(
        text[:start] + "\n| an old table |\n" + text[text.index(diagnostics.PAGE_END) :]
    )
    assert diagnostics.main(["--write-troubleshooting", str(stale)]) == 0
    assert "updated" in capsys.readouterr().out
    assert stale.read_text(encoding="utf-8") == text
    assert diagnostics.write_troubleshooting(stale) is False  # nothing left to change
    with pytest.raises(ValueError, match="PAGE_BEGIN"):
        diagnostics.troubleshooting_page("# A page without the markers\n")
