"""The troubleshooting page and the training monitor come from the same rows, and agree.

``book/troubleshooting.md`` holds a hand-written introduction and tables that
:func:`ganutils.diagnostics.troubleshooting_markdown` renders from
:data:`ganutils.diagnostics.TROUBLESHOOTING`. These tests fail when the page
falls behind the rows (regenerate it with ``python -m ganutils.diagnostics
--write-troubleshooting book/troubleshooting.md``), when a monitor signature
has no row, when the monitor prints other advice than its row's fixes, and
when a row links a section label that no chapter or page defines.

They also hold the rows to the book's measurements. Every fix with
:class:`ganutils.diagnostics.Evidence` names committed comparisons; these
tests recompute each one from the committed results by the book's comparison
rule (:func:`committed_verdict`) and fail when a verdict disagrees with the
fix's label, when a fix offered as help (or as harmless) hurts on any measure
of its footing, when the evidence comes from a footing that does not match
the row's symptom (:data:`MATCHING`) or leaves out one where the fix ran, and
when a row names, as unmeasured advice, a fix the book measured on its
symptom's footing (:data:`NAMES`).
"""

from __future__ import annotations

import collections
import functools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from ganutils import diagnostics, studies
from ganutils.studies import ablate, footings

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


def unlinked(markdown: str) -> str:
    """``markdown`` with every ``{ref}`text <label>``` reduced to its text: what a reader reads."""
    return re.sub(r"\{ref\}`([^`<]*?) <[\w-]+>`", r"\1", markdown)


@pytest.mark.parametrize("signature", diagnostics.SIGNATURES)
def test_the_monitor_prints_its_rows_fixes(signature):
    (row,) = [r for r in diagnostics.TROUBLESHOOTING if r.signature == signature]
    message = fire(signature).message
    advice = diagnostics.render_fixes(row.fixes)
    assert message.endswith(f". {advice}"), (message, advice)
    table = diagnostics.troubleshooting_markdown()
    cell = diagnostics.render_fixes(row.fixes, links=True)
    assert f"| {cell} |" in table  # the fixes column: the same words, with links
    assert unlinked(cell) == advice


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


# -- The rows against the book's measurements ---------------------------------------------

#: Chapter 7's footings, toy and MNIST, as ``(study, footing)``: not the grid, whose
#: baseline never learned it, so the chapter counts no verdict there.
CHAPTER_7 = tuple(
    ("stabilisers", f)
    for f in (*footings.FOOTINGS, *footings.MNIST_FOOTINGS)
    if f != "healthy-grid"
)

#: The committed footings a row's fixes answer to, by symptom: one that shows the
#: symptom, or the nearest the book measured. A row missing here may carry no evidence.
MATCHING = {
    # No committed run has a D that wins: the ablation's recipe by its first measure,
    # time to good, and every footing of chapter 7 (a fix for it must hurt on none).
    "D's loss heads to zero": (("ablation", "recipe"), *CHAPTER_7),
    # MNIST's collapse: D learning 500 times more slowly than G, no moving average.
    "One digit only, or a few digits": (
        ("stabilisers", "rescue-mnist"),
        ("stabilisers", "rescue-mnist-critics"),  # the papers' critics on the same collapse
    ),
    # The row's named cause, Adam's default momentum: the ablation's beta_1 = 0.9 variant.
    "Quality oscillates: the samples change character from epoch to epoch": (
        ("ablation", "recipe"),
    ),
    # A D that memorises: the recipe on its first 500 and 1,000 digits, trained 4x longer.
    "Quality peaks, then declines": (("stabilisers", "small-500"), ("stabilisers", "small-1000")),
    # The nearest measured case of a run that does not train: the ablation's variants
    # that never reached good digits.
    "Nothing trains: the samples stay noise or grey blobs": (("ablation", "recipe"),),
}

#: What a fix that a variant measures is called in a row's text (case ignored), by the
#: variant's name without its learning-rate multiple. Not named: the ablation's
#: architecture practices, which no row offers, and its [0, 1] range with a sigmoid
#: output, which is not the mismatch of images and `tanh` that "Nothing trains" fixes.
NAMES = {
    "without:ganhacks-label-smoothing": "label smoothing",
    "without:ganhacks-noisy-labels": "label noise",
    "without:dcgan-adam": "SGD",
    "adam-beta1-0.9": "beta_1",
    "WGAN (clipping)": "weight clipping",
    "WGAN-GP": "WGAN-GP",
    "spectral norm": "spectral norm",
    "WGAN-GP + BN-free D": "WGAN-GP",
    "spectral norm + BN-free D": "spectral norm",
    "instance noise": "instance noise",
    "noise in G layers": "noise in G",
    "feature matching": "feature matching",
    "minibatch stddev": "minibatch",
    "generator EMA": "ema_decay",
    "dropout 0.5 in D": "dropout",
    "RMSProp": "RMSProp",
    "TTUR (D lr x4)": "TTUR",
    "L2 on D (1e-3)": "L2",
    "DiffAugment": 'augment="both"',
    "augment real only": 'augment="real_only"',
}

#: Measures where a larger value is the better one.
HIGHER_IS_BETTER = ("modes_covered", "high_quality", "final_classes")


def measures(study: str, footing: str) -> tuple[str, ...]:
    """The measures of the generator that a footing's chapter reads, first one first."""
    if study == "ablation":
        return ("time_to_good", "final_fd")
    if footing in footings.FOOTINGS:
        return ("modes_covered", "high_quality")
    if footings.MNIST_FOOTINGS[footing].digits is not None:
        return ("final_fd", "final_classes")  # time to good is not recorded for every seed
    return ("time_to_good", "final_fd", "final_classes")


@functools.cache
def stabiliser_runs(footing: str) -> dict:
    """Chapter 7's committed runs on ``footing``, ``{variant: [row per seed]}``."""
    return footings.results_by_variant(studies.committed_results("stabilisers"), footing)


@functools.cache
def ablation_verdicts() -> dict:
    """Chapter 8's verdicts of its leave-one-out variants, by variant, at the ablation's budget."""
    rows = ablate.at_budget(studies.committed_results("ablation"))
    return {entry["variant"]: entry for entry in ablate.verdicts(rows)}


def value(run: dict, measure: str) -> float:
    """A run's measure as the chapters compare it ("never good" counts as the budget)."""
    if measure == "time_to_good":
        return ablate.seconds_to_good(run)
    if measure == "final_fd":
        return ablate.final_fd(run)
    return float(run[measure])


def committed_verdict(study: str, footing: str, variant: str, measure: str):
    """The committed verdict of the fix a variant measures, and the comparison behind it.

    The comparison is the variant against its footing's baseline by the book's
    rule (``ganutils.studies.compare``): its difference is the variant's mean
    minus the baseline's. Chapter 7's variants add a fix, so their verdict is
    the fix's. The ablation's leave-one-out variants remove a practice from
    the recipe (label noise's adds it); its verdict is
    ``ganutils.studies.ablate.verdicts``' reading for the practice.
    """
    if study == "ablation" and footing == "recipe":
        entry = ablation_verdicts()[variant]
        key = {"time_to_good": "without_verdict", "final_fd": "without_fd_verdict"}[measure]
        return entry[key], entry["without"][measure]
    if study == "stabilisers":
        runs = stabiliser_runs(footing)
        result = studies.compare(
            [value(run, measure) for run in runs["baseline"]],
            [value(run, measure) for run in runs[variant]],
            lower_is_better=measure not in HIGHER_IS_BETTER,
        )
        return result.verdict, result
    raise ValueError(f"no committed comparison for {(study, footing, variant, measure)}")


def variants_on(study: str, footing: str) -> list[str]:
    """The variants with committed runs on a footing (its baseline left out)."""
    if study == "ablation":
        return [name for name, entry in ablation_verdicts().items() if entry["without"]]
    return [name for name in stabiliser_runs(footing) if name != "baseline"]


MEASURED = [(row, fix) for row in diagnostics.TROUBLESHOOTING for fix in row.fixes if fix.evidence]


def fix_id(pair) -> str:
    row, fix = pair
    return f"{row.symptom[:24]} / {fix.text[:32]}"


@pytest.mark.parametrize("row, fix", MEASURED, ids=[fix_id(pair) for pair in MEASURED])
def test_every_measured_fix_carries_its_committed_verdict(row, fix):
    for comparison in fix.evidence.comparisons:
        verdict, result = committed_verdict(*comparison)
        assert verdict == fix.evidence.verdict, (row.symptom, comparison, verdict, result)


@pytest.mark.parametrize("row, fix", MEASURED, ids=[fix_id(pair) for pair in MEASURED])
def test_no_row_offers_a_fix_that_hurt_on_its_symptoms_footing(row, fix):
    if fix.verdict == "hurts":  # a warning, rendered as one (the test below)
        return
    for study, footing, variant, _ in fix.evidence.comparisons:
        for measure in measures(study, footing):
            verdict, result = committed_verdict(study, footing, variant, measure)
            assert verdict != "hurts", (row.symptom, fix.text, footing, measure, result)


def test_evidence_comes_from_the_footings_of_the_rows_symptom():
    for row, fix in MEASURED:
        for study, footing, variant, measure in fix.evidence.comparisons:
            assert (study, footing) in MATCHING.get(row.symptom, ()), (row.symptom, footing)
            assert variant in variants_on(study, footing), (footing, variant)
            assert measure in measures(study, footing), (footing, measure)
            assert variant.split(" (lr x")[0] in NAMES, variant


def test_a_fix_measured_on_its_symptoms_footing_carries_that_evidence():
    """Naming a measured fix in a row's text needs that fix's evidence, from every matching footing.

    So a fix the book measured cannot pass as unmeasured advice, and its
    evidence cannot leave out a footing where it did worse.
    """
    missing = []
    for row in diagnostics.TROUBLESHOOTING:
        for study, footing in MATCHING.get(row.symptom, ()):
            for variant in variants_on(study, footing):
                name = NAMES.get(variant.split(" (lr x")[0])
                for fix in row.fixes:
                    if name is None or name.lower() not in fix.text.lower():
                        continue
                    cited = {c[:3] for c in fix.evidence.comparisons} if fix.evidence else set()
                    if (study, footing, variant) not in cited:
                        missing.append((row.symptom, fix.text, footing, variant))
    assert not missing, missing


def test_the_fixes_read_in_the_order_of_their_verdicts():
    openings = {
        "helps": "Try first, measured to help: ",
        "no measurable effect": "No measurable effect in the book: ",
        "hurts": "Measured to hurt, so avoid: ",
    }
    for row in diagnostics.TROUBLESHOOTING:
        text = diagnostics.render_fixes(row.fixes)
        for fix in row.fixes:
            assert fix.text[1:] in text, fix.text
            if fix.verdict is not None:
                assert text.index(openings[fix.verdict]) < text.index(fix.text), fix.text
                assert f"{fix.text} ({fix.evidence.summary})" in text
    helpful = next(fix for _, fix in MEASURED if fix.verdict == "helps")
    harmful = next(fix for _, fix in MEASURED if fix.verdict == "hurts")
    with pytest.raises(ValueError, match="ordered helps, unmeasured"):
        diagnostics.Trouble(
            "a symptom", None, "causes", "check", (harmful, helpful), ("setup-run",)
        )
    with pytest.raises(ValueError, match="verdict must be one of"):
        diagnostics.Evidence("works", "here", "setup-run", (("ablation", "recipe", "x", "y"),))


def test_the_ganhacks_map_says_what_the_book_measured_of_instance_noise():
    text = (ROOT / "book" / "ganhacks_map.md").read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| 13 |")]
    assert "no measurable effect" in row and "helps" not in row, row
    ran = [(s, f) for s, f in CHAPTER_7 if "instance noise" in stabiliser_runs(f)]
    assert len(ran) >= 2, ran
    for study, footing in ran:
        for measure in measures(study, footing):
            verdict, result = committed_verdict(study, footing, "instance noise", measure)
            assert verdict == "no measurable effect", (footing, measure, result)
