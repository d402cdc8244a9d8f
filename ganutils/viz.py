"""Figures for the book: image grids and training curves.

Every function returns a Matplotlib ``Figure`` and never calls ``plt.show()``:
a notebook displays the figure it gets back, a script saves it.
"""

from __future__ import annotations

__all__ = [
    "grid_array",
    "plot_fd_curves",
    "plot_heatmap",
    "plot_image_grid",
    "plot_losses",
    "plot_quality",
    "plot_series",
]

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .data import as_images, unscale_images


def _as_pixels(images: np.ndarray) -> np.ndarray:
    """``(n, h, w[, 1])`` uint8, or float in [-1, 1], to ``(n, h, w)`` uint8."""
    array = as_images(images)
    if np.issubdtype(array.dtype, np.floating):
        return unscale_images(array)
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"integer images must lie in [0, 255]; got [{array.min()}, {array.max()}]")
    return array.astype(np.uint8)


def grid_array(images: np.ndarray, *, ncols: int = 8, padding: int = 2) -> np.ndarray:
    """Tile images into one uint8 picture (for PNG and GIF frames).

    Args:
        images: ``(n, h, w)`` or ``(n, h, w, 1)``; uint8 in [0, 255] or float
            in [-1, 1] (a generator's tanh output).
        ncols: Images per row.
        padding: Black pixels between tiles.

    Returns:
        ``(rows * (h + padding) + padding, ncols * (w + padding) + padding)`` uint8.
    """
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1; got {ncols}")
    if padding < 0:
        raise ValueError(f"padding must be non-negative; got {padding}")
    pixels = _as_pixels(images)
    n, height, width = pixels.shape
    ncols = min(ncols, max(n, 1))
    nrows = max(math.ceil(n / ncols), 1)
    canvas = np.zeros(
        (nrows * (height + padding) + padding, ncols * (width + padding) + padding), np.uint8
    )
    for index, image in enumerate(pixels):
        row, col = divmod(index, ncols)
        top = padding + row * (height + padding)
        left = padding + col * (width + padding)
        canvas[top : top + height, left : left + width] = image
    return canvas


def plot_image_grid(
    images: np.ndarray,
    *,
    labels: Sequence[object] | None = None,
    ncols: int = 8,
    title: str | None = None,
    cell_size: float = 1.0,
) -> Figure:
    """Show images in a grid, optionally with a label above each.

    Args:
        images: ``(n, h, w)`` or ``(n, h, w, 1)``; uint8 in [0, 255] or float
            in [-1, 1] (floats are mapped back with
            :func:`ganutils.data.unscale_images`).
        labels: One label per image (digit classes, scores), or ``None``.
        ncols: Images per row.
        title: Figure title.
        cell_size: Inches per image.

    Returns:
        The Matplotlib figure.

    Raises:
        ValueError: Bad shape or range, ``ncols`` below 1, or a label count that
            does not match the image count.
    """
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1; got {ncols}")
    pixels = _as_pixels(images)
    n = len(pixels)
    if n == 0:
        raise ValueError("images must contain at least one image")
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels must have one entry per image ({n}); got {len(labels)}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    label_room = 0.25 if labels is not None else 0.0
    figure = Figure(
        figsize=(ncols * cell_size, nrows * (cell_size + label_room) + 0.4 * bool(title))
    )
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if index >= n:
            continue
        axis.imshow(pixels[index], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        if labels is not None:
            axis.set_title(str(labels[index]), fontsize=9, pad=2)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


_LOSS_LABELS = {
    "d_loss": "discriminator",
    "g_loss": "generator",
    "d_loss_real": "D on real",
    "d_loss_fake": "D on fake",
    "d_real": "D(x), real digits",
    "d_fake": "D(G(z)), generated",
    "rt_train": "r_t, digits D trains on",
    "rt_heldout": "r_t, held-out digits",
}


def _series(history: Mapping[str, Sequence[float]], names: Sequence[str], x: str):
    """The named series as float arrays and their x values (the ``x`` series, else 1, 2, ...).

    Raises:
        ValueError: A name is missing from ``history`` or a series is empty.
    """
    missing = [name for name in names if name not in history]
    if missing:
        raise ValueError(f"names {missing} are not in history (it has {sorted(history)})")
    series = {name: np.asarray(history[name], dtype=float) for name in names}
    if any(values.size == 0 for values in series.values()):
        raise ValueError("history series must not be empty")
    length = len(next(iter(series.values())))
    xs = np.asarray(history[x]) if x in history else np.arange(1, length + 1)
    return series, xs


def plot_losses(
    history: Mapping[str, Sequence[float]],
    *,
    names: Sequence[str] = ("d_loss", "g_loss"),
    x: str = "step",
    title: str | None = None,
) -> Figure:
    """Plot losses raw and on a ``log1p`` scale, side by side.

    GAN losses start with tall spikes that flatten everything after them on a
    linear axis; ``log(1 + |loss|)`` with the loss's sign kept makes the
    spikes and the rest readable on one axis, and keeps a negative loss (the
    minimax generator's, a Wasserstein critic's) below zero instead of
    clipping it.

    Args:
        history: Name -> values, e.g. :func:`ganutils.callbacks.read_steps` of
            a run folder, or ``History.history``.
        names: Which series to plot.
        x: Name of the x-axis series (``"step"`` or ``"epoch"``); if absent the
            index is used.
        title: Figure title.

    Raises:
        ValueError: A name is missing from ``history`` or a series is empty.
    """
    series, xs = _series(history, names, x)
    figure = Figure(figsize=(11, 3.6))
    raw_axis, log_axis = figure.subplots(1, 2)
    for name, values in series.items():
        label = _LOSS_LABELS.get(name, name)
        raw_axis.plot(xs, values, linewidth=0.8, label=label)
        log_axis.plot(xs, np.sign(values) * np.log1p(np.abs(values)), linewidth=0.8, label=label)
    raw_axis.set_title("raw")
    raw_axis.set_ylabel("loss")
    log_axis.set_title("compressed")
    log_axis.set_ylabel("sign(loss) log(1 + |loss|)")
    for axis in (raw_axis, log_axis):
        axis.set_xlabel(x if x in history else "index")
        axis.grid(True, alpha=0.3)
        axis.legend(loc="best", framealpha=0.8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def _finish(figure: Figure, axis, xlabel: str, ylabel: str, title: str | None) -> Figure:
    """Label one axis, add a light grid and a legend, and lay the figure out."""
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    if title:
        axis.set_title(title)
    axis.grid(True, alpha=0.3)
    axis.legend(loc="best", framealpha=0.8)
    figure.tight_layout()
    return figure


def plot_series(
    history: Mapping[str, Sequence[float]],
    *,
    names: Sequence[str],
    x: str = "epoch",
    ylabel: str,
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Plot a few series of a history on one labelled axis (D's outputs, for example).

    Args:
        history: Name -> values, with the ``x`` series among them (else the index).
        names: Which series to plot.
        x: Name of the x-axis series.
        ylabel: What the y values are.
        title: Axis title.
        ylim: Fixed y range, e.g. ``(0, 1)`` for probabilities.

    Raises:
        ValueError: A name is missing from ``history`` or a series is empty.
    """
    series, xs = _series(history, names, x)
    figure = Figure(figsize=(7, 3.4))
    axis = figure.subplots()
    for name, values in series.items():
        axis.plot(
            xs, values, marker="o", markersize=3, linewidth=1, label=_LOSS_LABELS.get(name, name)
        )
    if ylim is not None:
        axis.set_ylim(*ylim)
    return _finish(figure, axis, x if x in history else "index", ylabel, title)


def plot_quality(
    history: Mapping[str, Sequence[float]],
    *,
    floor_fd: float | None = None,
    good_fd: float | None = None,
    title: str | None = None,
) -> Figure:
    """Losses beside the quality metrics, per epoch: what the losses miss.

    Three panels sharing the epoch axis: the discriminator's and generator's
    mean losses, the MNIST FD (log scale, with the real-data floor and the
    "good" threshold when given), and the digit classes covered (out of 10).
    Epochs without a score (NaN) are skipped.

    Args:
        history: Per-epoch history with ``epoch``, ``d_loss``, ``g_loss``,
            ``fd`` and ``classes_covered`` (as written by
            :class:`ganutils.callbacks.QualityCheck` and ``LossHistory``).
        floor_fd: The real-data floor FD, drawn as a dashed line.
        good_fd: The quality bar's FD (:class:`ganutils.metrics.QualityBar`),
            drawn as a dotted line.
        title: Figure title.

    Raises:
        ValueError: A required series is missing.
    """
    required = ("epoch", "d_loss", "g_loss", "fd", "classes_covered")
    missing = [name for name in required if name not in history]
    if missing:
        raise ValueError(f"history lacks {missing}; train with a QualityCheck callback")
    epochs = np.asarray(history["epoch"], dtype=float)
    fd = np.asarray(history["fd"], dtype=float)
    classes = np.asarray(history["classes_covered"], dtype=float)
    scored = ~np.isnan(fd)
    figure = Figure(figsize=(12, 3.4))
    loss_axis, fd_axis, class_axis = figure.subplots(1, 3, sharex=True)
    loss_axis.plot(epochs, history["d_loss"], marker=".", label="discriminator")
    loss_axis.plot(epochs, history["g_loss"], marker=".", label="generator")
    loss_axis.set_title("mean loss per epoch")
    loss_axis.legend(loc="best")
    fd_axis.plot(epochs[scored], fd[scored], marker="o", color="C2", label="generator")
    fd_axis.set_yscale("log")
    if floor_fd is not None:
        fd_axis.axhline(floor_fd, color="gray", linestyle="--", label="real-data floor")
    if good_fd is not None:
        fd_axis.axhline(good_fd, color="C3", linestyle=":", label="good (the bar)")
    fd_axis.set_title("MNIST FD (lower is better)")
    fd_axis.legend(loc="best")
    class_axis.plot(epochs[scored], classes[scored], marker="o", color="C4")
    class_axis.set_ylim(-0.5, 10.5)
    class_axis.set_title("digit classes covered")
    for axis in (loss_axis, fd_axis, class_axis):
        axis.set_xlabel("epoch")
        axis.grid(True, alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_fd_curves(
    runs: Mapping[str, Sequence[Mapping]],
    *,
    floor_fd: float | None = None,
    good_fd: float | None = None,
    title: str | None = None,
    axis=None,
    x: str = "seconds_curve",
) -> Figure:
    """Each run's MNIST FD against its training seconds (or epochs), one colour per variant.

    Args:
        runs: Variant name -> its runs, each a mapping with ``fd_curve`` and
            the ``x`` curve (a study's results rows).
        floor_fd: The real-data floor FD, drawn as a dashed line.
        good_fd: The quality bar's FD, drawn as a dotted line.
        title: Axis title.
        axis: Draw into this matplotlib axis (default: a new figure).
        x: ``"seconds_curve"`` (training seconds) or ``"epoch_curve"`` (epochs).

    Raises:
        ValueError: No runs, an unknown ``x``, or a run without both curves of
            the same length.
    """
    xlabels = {"seconds_curve": "training seconds", "epoch_curve": "epoch"}
    if x not in xlabels:
        raise ValueError(f"x must be one of {tuple(xlabels)}; got {x!r}")
    if not runs or not any(runs.values()):
        raise ValueError("runs must map at least one variant to its runs")
    if axis is None:
        figure = Figure(figsize=(7, 3.6))
        axis = figure.subplots()
    else:
        figure = axis.figure
    for colour, (name, chosen) in enumerate(runs.items()):
        for index, run in enumerate(chosen):
            seconds, fd = run.get(x), run.get("fd_curve")
            if seconds is None or fd is None or len(seconds) != len(fd):
                raise ValueError(f"{name}: every run needs {x} and fd_curve, equally long")
            values = np.array([np.nan if v is None else v for v in fd], dtype=float)
            axis.plot(
                seconds,
                values,
                color=f"C{colour}",
                linewidth=1,
                alpha=0.75,
                label=name if index == 0 else None,
            )
    axis.set_yscale("log")
    if floor_fd is not None:
        axis.axhline(floor_fd, color="gray", linestyle="--", label="real-data floor")
    if good_fd is not None:
        axis.axhline(good_fd, color="black", linestyle=":", label="good (the bar)")
    return _finish(figure, axis, xlabels[x], "MNIST FD (log scale)", title)


def plot_heatmap(
    values: np.ndarray,
    row_labels: Sequence,
    col_labels: Sequence,
    *,
    row_title: str = "",
    col_title: str = "",
    title: str | None = None,
    fmt: str = "{:.1f}",
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """A grid of numbers as a coloured table, each cell annotated with ``fmt``.

    Args:
        values: ``(rows, cols)`` array (NaN cells stay blank).
        row_labels, col_labels: One label per row and column.
        row_title, col_title: Axis titles.
        title: Figure title.
        fmt: Format of each cell's annotation.
        vmin, vmax: Colour range (default: the data's).

    Raises:
        ValueError: ``values`` is not 2-D or the labels do not match its shape.
    """
    array = np.asarray(values, dtype=float)
    if array.ndim != 2 or array.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"values must be 2-D with shape (len(row_labels), len(col_labels)) = "
            f"({len(row_labels)}, {len(col_labels)}); got {array.shape}"
        )
    figure = Figure(figsize=(1.2 * array.shape[1] + 2.2, 0.8 * array.shape[0] + 1.4))
    axis = figure.subplots()
    image = axis.imshow(array, cmap="viridis", vmin=vmin, vmax=vmax)
    axis.set_xticks(range(array.shape[1]), [str(label) for label in col_labels])
    axis.set_yticks(range(array.shape[0]), [str(label) for label in row_labels])
    axis.set_xlabel(col_title)
    axis.set_ylabel(row_title)
    low, high = image.get_clim()
    for (row, col), value in np.ndenumerate(array):
        if np.isfinite(value):
            dark = value < low + 0.5 * (high - low)
            axis.text(
                col,
                row,
                fmt.format(value),
                ha="center",
                va="center",
                color="white" if dark else "black",
                fontsize=9,
            )
    figure.colorbar(image, ax=axis)
    if title:
        axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure
