import numpy as np
import pytest
from matplotlib.figure import Figure

import ganutils.viz as viz


def test_plot_image_grid_lays_out_images_and_labels(mnist_subset):
    figure = viz.plot_image_grid(
        mnist_subset.images[:10], labels=mnist_subset.labels[:10], ncols=5, title="Digits"
    )
    assert isinstance(figure, Figure)
    image_axes = [axis for axis in figure.axes if axis.images]
    assert len(image_axes) == 10
    assert [axis.get_title() for axis in image_axes] == [str(y) for y in mnist_subset.labels[:10]]
    assert figure.get_suptitle() == "Digits"
    np.testing.assert_array_equal(image_axes[3].images[0].get_array(), mnist_subset.images[3])


def test_plot_image_grid_accepts_generator_output(mnist_subset):
    import ganutils.data as data

    scaled = data.scale_images(mnist_subset.images[:6])  # (6, 28, 28, 1) float in [-1, 1]
    figure = viz.plot_image_grid(scaled, ncols=4)
    shown = [axis.images[0].get_array() for axis in figure.axes if axis.images]
    assert len(shown) == 6
    np.testing.assert_array_equal(shown[0], mnist_subset.images[0])


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (np.zeros((3, 28, 28), np.uint8), {"labels": [1, 2]}, "labels"),
        (np.zeros((3, 28, 28), np.uint8), {"ncols": 0}, "ncols"),
        (np.zeros((0, 28, 28), np.uint8), {}, "at least one"),
        (np.zeros((28, 28), np.uint8), {}, "shape"),
        (np.full((2, 4, 4), 3.0, np.float32), {}, r"\[-1, 1\]"),
    ],
)
def test_plot_image_grid_rejects_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.plot_image_grid(images, **kwargs)


def test_grid_array_tiles_with_padding(mnist_subset):
    grid = viz.grid_array(mnist_subset.images[:10], ncols=4, padding=2)
    assert grid.dtype == np.uint8
    assert grid.shape == (3 * 30 + 2, 4 * 30 + 2)
    np.testing.assert_array_equal(grid[2:30, 32:60], mnist_subset.images[1])
    assert grid[:2].max() == 0  # the padding stays black


def test_plot_losses_draws_raw_and_log1p_panels():
    history = {"step": np.arange(1, 6), "d_loss": [4.0, 1.0, 0.5, 0.7, 0.6], "g_loss": [9.0] * 5}
    figure = viz.plot_losses(history)
    raw, log = figure.axes[:2]
    np.testing.assert_allclose(raw.lines[0].get_ydata(), history["d_loss"])
    np.testing.assert_allclose(log.lines[0].get_ydata(), np.log1p(history["d_loss"]))
    assert raw.get_ylabel() == "loss" and log.get_ylabel().startswith("sign(loss)")
    np.testing.assert_array_equal(log.lines[1].get_xdata(), history["step"])
    with pytest.raises(ValueError, match="not in history"):
        viz.plot_losses(history, names=("fd",))


def test_plot_quality_skips_unscored_epochs_and_draws_the_floor():
    history = {
        "epoch": [1, 2, 3],
        "d_loss": [1.0, 1.1, 1.2],
        "g_loss": [0.9, 0.8, 0.7],
        "fd": [np.nan, 40.0, 20.0],
        "classes_covered": [np.nan, 9.0, 10.0],
    }
    figure = viz.plot_quality(history, floor_fd=3.0, good_fd=21.0)
    fd_axis = figure.axes[1]
    np.testing.assert_allclose(fd_axis.lines[0].get_ydata(), [40.0, 20.0])
    assert [line.get_ydata()[0] for line in fd_axis.lines[1:]] == [3.0, 21.0]
    with pytest.raises(ValueError, match="QualityCheck"):
        viz.plot_quality({"epoch": [1]})


def test_plot_heatmap_annotates_every_finite_cell():
    values = np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]])
    figure = viz.plot_heatmap(values, ["a", "b"], [1, 2, 3], fmt="{:.0f}")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["1", "2", "4", "5", "6"]
    with pytest.raises(ValueError, match="shape"):
        viz.plot_heatmap(values, ["a"], [1, 2, 3])


def test_plot_losses_keeps_negative_losses_below_zero():
    figure = viz.plot_losses({"d_loss": [1.0, 0.5], "g_loss": [-2.0, -0.5]})
    log = figure.axes[1]
    np.testing.assert_allclose(log.lines[1].get_ydata(), -np.log1p([2.0, 0.5]))


def test_plot_series_labels_its_axes():
    history = {"epoch": [1, 2, 3], "d_real": [0.6, 0.65, 0.7], "d_fake": [0.4, 0.3, 0.2]}
    figure = viz.plot_series(
        history, names=("d_real", "d_fake"), ylabel="mean D output", ylim=(0, 1)
    )
    axis = figure.axes[0]
    assert axis.get_xlabel() == "epoch" and axis.get_ylabel() == "mean D output"
    assert axis.get_ylim() == (0.0, 1.0) and len(axis.lines) == 2
    assert next(t.get_text() for t in axis.get_legend().get_texts()).startswith("D(x)")
    with pytest.raises(ValueError, match="names"):
        viz.plot_series(history, names=("fd",), ylabel="FD")


def test_plot_fd_curves_draws_one_line_per_run_and_labels_each_variant_once():
    runs = {
        "baseline": [
            {"seconds_curve": [1.0, 2.0, 3.0], "fd_curve": [90.0, 50.0, 40.0]},
            {"seconds_curve": [1.0, 2.0], "fd_curve": [80.0, None]},
        ],
        "DiffAugment": [{"seconds_curve": [1.5, 3.0], "fd_curve": [70.0, 30.0]}],
    }
    figure = viz.plot_fd_curves(runs, floor_fd=3.0, good_fd=70.0, title="t")
    (axis,) = figure.axes
    assert len(axis.lines) == 3 + 2  # three runs, the floor and the bar
    labels = [text.get_text() for text in axis.get_legend().get_texts()]
    assert labels == ["baseline", "DiffAugment", "real-data floor", "good (the bar)"]
    assert axis.get_xlabel() == "training seconds" and "FD" in axis.get_ylabel()
    assert np.isnan(axis.lines[1].get_ydata()[1])  # an unscored point is a gap, not a zero
    with pytest.raises(ValueError, match="runs"):
        viz.plot_fd_curves({})
    with pytest.raises(ValueError, match="equally long"):
        viz.plot_fd_curves({"x": [{"seconds_curve": [1.0], "fd_curve": [1.0, 2.0]}]})
    by_epoch = viz.plot_fd_curves(
        {"x": [{"epoch_curve": [10, 20], "fd_curve": [9.0, 8.0]}]}, x="epoch_curve"
    )
    assert by_epoch.axes[0].get_xlabel() == "epoch"
    with pytest.raises(ValueError, match="x must be"):
        viz.plot_fd_curves(runs, x="steps")
