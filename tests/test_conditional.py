"""Conditional GANs: the label reaches both networks, AC-GAN's class loss, grids and resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ganutils import (
    callbacks,
    conditioning,
    data,
    gan,
    metrics,
    models,
    studies,
    train,
)
from ganutils.studies import conditional

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "11_use_the_labels.ipynb"
TINY = {"g_filters": 8, "d_filters": 8, "latent_dim": 16, "batch_size": 32, "grid_size": 20}


@pytest.fixture(scope="module")
def digits(mnist_subset):
    return data.scale_images(mnist_subset.images[:96]), mnist_subset.labels[:96]


def test_conditional_models_take_labels_and_add_exactly_the_embeddings():
    plain_g = models.build_generator(16, filters=8, seed=0)
    cond_g = models.build_generator(16, filters=8, num_classes=10, seed=0)
    # An embedding of 10 x 16, and the first dense layer reads 16 more inputs (7 x 7 x 8 each).
    assert cond_g.count_params() - plain_g.count_params() == 10 * 16 + 16 * 7 * 7 * 8
    assert [tuple(t.shape) for t in cond_g.inputs] == [(None, 16), (None,)]
    assert cond_g.output_shape == (None, 28, 28, 1)
    plain_d = models.build_discriminator(filters=8, seed=0)
    cond_d = models.build_discriminator(filters=8, num_classes=10, seed=0)
    # One 28 x 28 plane per class, and the first 4 x 4 convolution (4 filters) reads one more
    # channel.
    assert cond_d.count_params() - plain_d.count_params() == 10 * 28 * 28 + 4 * 4 * 4
    assert cond_d.output_shape == (None, 1)
    ac_d = models.build_discriminator(filters=8, auxiliary_classes=10, seed=0)
    assert ac_d.output_shape == (None, 11)
    assert ac_d.count_params() - plain_d.count_params() == 10 * (7 * 7 * 8 + 1)


@pytest.mark.parametrize(
    ("builder", "kwargs"),
    [
        (models.build_generator, {"num_classes": 1}),
        (models.build_generator, {"num_classes": 2.5}),
        (models.build_discriminator, {"num_classes": True}),
        (models.build_discriminator, {"auxiliary_classes": 0}),
    ],
)
def test_bad_class_counts_name_the_argument(builder, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        builder(**kwargs)


def test_changing_only_the_label_changes_both_networks_outputs():
    generator = models.build_generator(16, filters=8, num_classes=10, seed=0)
    discriminator = models.build_discriminator(filters=8, num_classes=10, seed=0)
    latents = np.random.default_rng(0).normal(size=(4, 16)).astype("float32")
    threes, sevens = np.full(4, 3, "int32"), np.full(4, 7, "int32")
    a = keras.ops.convert_to_numpy(generator([latents, threes]))
    b = keras.ops.convert_to_numpy(generator([latents, sevens]))
    # Small weights (N(0, 0.02)) give small images; the label moves them by a share of that.
    assert np.abs(a - b).max() > 0.01 * np.abs(a).max()
    np.testing.assert_allclose(a, keras.ops.convert_to_numpy(generator([latents, threes])))
    scores_3 = keras.ops.convert_to_numpy(discriminator([a, threes]))
    scores_7 = keras.ops.convert_to_numpy(discriminator([a, sevens]))
    assert np.abs(scores_3 - scores_7).max() > 0.01 * np.abs(scores_3).max()


def test_the_options_check_conditioning():
    for bad in ({"num_classes": 1}, {"num_classes": "10"}):
        with pytest.raises(ValueError, match="num_classes"):
            gan.GANOptions(latent_dim=4, **bad)
    with pytest.raises(ValueError, match="conditioning"):
        gan.GANOptions(latent_dim=4, num_classes=10, conditioning="projection")
    with pytest.raises(ValueError, match="class_loss_weight"):
        gan.GANOptions(latent_dim=4, num_classes=10, class_loss_weight=0)
    with pytest.raises(ValueError, match="num_classes"):
        gan.GANOptions(latent_dim=4, conditioning="auxiliary")
    with pytest.raises(ValueError, match="simultaneous"):
        gan.GANOptions(latent_dim=4, num_classes=10, simultaneous=True)


def _zero_logits(discriminator):
    """Make every output of D 0 whatever the input: its last layer's kernel and bias."""
    for variable in discriminator.get_layer("logit").weights:
        variable.assign(np.zeros(variable.shape, "float32"))


@pytest.mark.parametrize("weight", [1.0, 0.5])
def test_ac_gan_losses_add_the_weighted_class_cross_entropy(weight):
    config = train.TrainConfig(
        **TINY, num_classes=10, conditioning="auxiliary", class_loss_weight=weight, ema_decay=None
    )
    model = train.build_gan(config)
    _zero_logits(model.discriminator)
    # Zero learning rates: the losses of one step are those of the zero logits, before and after.
    model.compile(
        d_optimizer=gan.make_optimizer("sgd", 0.0), g_optimizer=gan.make_optimizer("sgd", 0.0)
    )
    images = np.zeros((8, 28, 28, 1), "float32")
    labels = np.arange(8, dtype="int32")
    logs = model.train_step((keras.ops.convert_to_tensor(images), labels))
    # A zero logit costs log 2 whatever its target (0.9 real, 0 fake, 1 for G), and ten zero
    # class logits cost log 10 whatever the label.
    expected = math.log(2) + weight * math.log(10)
    for name in ("d_loss_real", "d_loss_fake", "g_loss"):
        assert float(logs[name]) == pytest.approx(expected, rel=1e-5), name


def test_a_conditional_step_refuses_batches_without_labels():
    model = train.build_gan(train.TrainConfig(**TINY, num_classes=10))
    with pytest.raises(ValueError, match="labels"):
        model.train_step(keras.ops.zeros((4, 28, 28, 1)))


def test_class_grid_keeps_a_column_s_latent_across_the_rows():
    config = train.TrainConfig(**TINY, num_classes=10)
    (latents, labels), columns = train.grid_of(config)
    assert columns == TINY["grid_size"] // 10
    assert latents.shape == (10 * columns, 16)
    assert labels.tolist() == [k for k in range(10) for _ in range(columns)]
    for row in range(10):
        np.testing.assert_array_equal(
            latents[row * columns : (row + 1) * columns], latents[:columns]
        )
    assert not np.allclose(latents[0], latents[1])
    plain, square = train.grid_of(train.TrainConfig(**TINY))
    assert plain.shape == (TINY["grid_size"], 16) and square is None
    with pytest.raises(ValueError, match="num_classes"):
        conditioning.class_grid(latents[:2], 1)


def test_make_dataset_yields_labels_and_checks_them(digits):
    images, labels = digits
    dataset = train.make_dataset(images, batch_size=32, labels=labels, shuffle=False)
    batch_images, batch_labels = next(iter(dataset))
    assert batch_images.shape == (32, 28, 28, 1)
    assert batch_labels.numpy().tolist() == labels[:32].tolist()
    with pytest.raises(ValueError, match="labels must be 96 integers"):
        train.make_dataset(images, batch_size=32, labels=labels[:10])
    with pytest.raises(ValueError, match="labels must be 96 integers"):
        train.make_dataset(images, batch_size=32, labels=labels.astype("float32"))
    with pytest.raises(ValueError, match="labels must lie in"):
        conditioning.check_labels(labels, 96, 5)


def test_train_mnist_checks_that_labels_go_with_the_config(tmp_path, digits):
    images, labels = digits
    with pytest.raises(ValueError, match="labels go with a conditional config"):
        train.train_mnist(train.TrainConfig(**TINY, epochs=1), images=images, labels=labels)
    with pytest.raises(ValueError, match="labels go with a conditional config"):
        train.train_mnist(train.TrainConfig(**TINY, num_classes=10, epochs=1), images=images)
    with pytest.raises(ValueError, match="labels must lie in"):
        train.train_mnist(
            train.TrainConfig(**TINY, num_classes=5, epochs=1), images=images, labels=labels
        )


@pytest.mark.parametrize("conditioning", ["channels", "auxiliary"])
def test_a_conditional_run_writes_class_rows_and_resumes(tmp_path, digits, conditioning):
    images, labels = digits

    def run(epochs, **kwargs):
        config = train.TrainConfig(**TINY, num_classes=10, conditioning=conditioning, epochs=epochs)
        return train.train_mnist(
            config, tmp_path, images=images, labels=labels, progress=False, **kwargs
        )

    _, partial = run(3, extra_callbacks=[callbacks.StopAfterEpoch(1)])
    assert partial["epoch"] == [1]
    model, resumed = run(3)
    assert resumed["epoch"] == [1, 2, 3] and resumed["d_loss"][:1] == partial["d_loss"]
    assert int(model.g_optimizer.iterations.numpy()) == 3 * 3  # the optimizer state carried on
    grid = iio.imread(tmp_path / "samples" / "epoch_003.png")
    frames = iio.imread(tmp_path / "training.gif", index=None)
    assert frames.shape[0] == 3
    # Ten rows of two digits: the grid is taller than it is wide.
    assert grid.shape[0] > 3 * grid.shape[1]
    assert all(np.isfinite(v) for v in resumed["g_loss"])


def test_class_accuracy_reads_each_asked_class():
    probabilities = np.eye(3)[[0, 0, 1, 2, 2, 1]]
    asked = np.array([0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(conditioning.class_accuracy(probabilities, asked), [1.0, 0.5, 0.5])
    missing = conditioning.class_accuracy(np.eye(3)[[0, 1]], np.array([0, 1]))
    assert missing[:2].tolist() == [1.0, 1.0] and np.isnan(missing[2])
    with pytest.raises(ValueError, match="asked must be 6 integer"):
        conditioning.class_accuracy(probabilities, asked[:3])
    with pytest.raises(ValueError, match="asked must lie in"):
        conditioning.class_accuracy(probabilities, asked + 1)
    assert conditioning.asked_classes(12, 10).tolist() == [*range(10), 0, 1]


@pytest.fixture(scope="module")
def scorer():
    return metrics.MnistScorer()


def test_class_fds_are_small_for_real_digits_of_the_class_and_large_for_others(scorer):
    floor = conditional.class_floor(scorer, 50)
    assert floor.shape == (10,) and np.isfinite(floor).all()
    split = scorer.classifier.split
    # The same real digits, but every one asked to be the class after its own.
    index = np.concatenate([np.flatnonzero(split.heldout_labels == k)[:50] for k in range(10)])
    wrong = conditional.class_fds(
        scorer, split.heldout_images[index], (split.heldout_labels[index] + 1) % 10
    )
    assert (wrong > 3 * floor).all()
    with pytest.raises(ValueError, match="per_class"):
        conditional.class_floor(scorer, 1)
    with pytest.raises(ValueError, match="labels must be"):
        conditional.class_fds(scorer, split.heldout_images[:10], np.zeros(3, "int64"))


def test_run_study_writes_a_row_per_arm_and_resumes(tmp_path):
    lines = []
    tiny = {"seeds": [0], "profile": "smoke", "budget_seconds": 0.5}
    rows = conditional.run_study(tmp_path, log=lines.append, **tiny)
    assert [r["variant"] for r in rows] == [v.name for v in conditional.variants()]
    assert [line.split(":")[0] for line in lines[:-1]] == [f"{r['variant']} seed 0" for r in rows]
    for row in rows:
        assert row["profile"] == "smoke" and row["commit"] and row["budget_seconds"] == 0.5
        assert len(row["class_counts"]) == 10 and row["bar_fd"] > row["floor_fd"]
        if row["variant"] != conditional.BASELINE:
            assert len(row["class_accuracy"]) == 10 and len(row["asked"]) == 20
    again = []
    assert conditional.run_study(tmp_path, log=again.append, **tiny) == rows
    assert again == [
        f"0 runs trained, {len(rows)} runs already in {tmp_path / 'results.jsonl'} (skipped)"
    ]
    with pytest.raises(ValueError, match="budget_seconds"):
        conditional.run_study(tmp_path, profile="smoke", budget_seconds=0)


def test_the_committed_study_covers_every_arm_and_seed_and_the_chapter_reads_it():
    rows = studies.committed_results("conditional")
    assert {r["profile"] for r in rows} == {"cpu"}
    have = {(r["variant"], r["seed"]) for r in rows}
    assert have == {(v.name, s) for v in conditional.variants() for s in (0, 1, 2)}  # 4 arms
    for row in rows:
        assert row["commit"] and row["data"] and row["final_fd"] is not None
        assert len(row["class_counts"]) == 10
        if row["variant"] != conditional.BASELINE:
            assert row["config"]["num_classes"] == 10
            assert len(row["class_accuracy"]) == 10 and len(row["class_samples"]) == 20
    notebook = json.loads(NOTEBOOK.read_text())
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert 'committed_results("conditional")' in code and "train_mnist(" in code
