"""Pictures: real files in the named format, and a figure with the expected parts."""

import numpy as np
import pytest

from fitbp.fitting import modelfile
from fitbp.views import renderer
from fitbp.errors import FitbpError
from fitbp.sources.data import Points
from fitbp.fitting.trainer import fit_points

SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml", "jpg": b"\xff\xd8\xff"}


@pytest.fixture
def fitted(rng):
    x = np.sort(rng.uniform(0, 6, 300))
    y = np.sin(x) + rng.normal(0, 0.1, x.size)
    return fit_points(Points(x, y), 5)


def draw(result, **options):
    return renderer.figure(result.polynomial, result.points, result.loss_history, "title", **options)


@pytest.mark.parametrize("extension", ["png", "svg", "pdf", "jpg"])
def test_files_carry_their_format_signature(extension, fitted, tmp_path):
    path = tmp_path / f"fit.{extension}"
    renderer.save(draw(fitted), path, modelfile.write_atomic)
    head = path.read_bytes()[:64]
    assert head.startswith(SIGNATURES[extension])
    if extension == "svg":
        assert b"<svg" in path.read_bytes()[:2000]


def test_unknown_extension_is_refused_before_drawing(tmp_path):
    for name in ["fit.bmp", "fit", "fit.png.txt"]:
        with pytest.raises(FitbpError, match="cannot tell the picture format"):
            renderer.check_format(tmp_path / name)


def test_figure_has_points_curve_and_log_loss(fitted):
    fig = draw(fitted)
    fit_axes, loss_axes = fig.axes
    assert len(fit_axes.collections) == 1  # the points
    assert fit_axes.collections[0].get_offsets().shape == (300, 2)
    curve = fit_axes.lines[0]
    xs, ys = curve.get_data()
    assert xs.size >= 500 and xs.min() < fitted.points.x.min() and xs.max() > fitted.points.x.max()
    np.testing.assert_allclose(ys, fitted.polynomial(xs))
    assert loss_axes.get_yscale() == "log"
    epochs, losses = loss_axes.lines[0].get_data()
    np.testing.assert_allclose(losses, fitted.loss_history)
    assert fit_axes.get_title(loc="left") == "title"


def test_residual_panel(fitted):
    fig = draw(fitted, residuals=True)
    assert len(fig.axes) == 3
    residual_axes = next(a for a in fig.axes if a.get_ylabel() == "residual")
    offsets = residual_axes.collections[0].get_offsets()
    p = fitted.points
    np.testing.assert_allclose(offsets[:, 1], p.y - fitted.polynomial(p.x))


def test_a_million_points_are_thinned_and_rasterised(rng, tmp_path):
    x = rng.uniform(-1, 1, 1_000_000)
    y = x ** 3 + rng.normal(0, 0.1, x.size)
    result = fit_points(Points(x, y), 3)
    fig = draw(result)
    points = fig.axes[0].collections[0]
    assert points.get_offsets().shape[0] == renderer.MOST_POINTS_DRAWN
    assert points.get_rasterized()
    path = tmp_path / "big.svg"
    renderer.save(fig, path, modelfile.write_atomic)
    assert path.stat().st_size < 5_000_000  # rasterised points keep a vector file small


def test_kept_sample_is_labelled_with_the_whole_count(fitted):
    p = fitted.points
    kept = Points(p.x, p.y, sampled_from=1_000_000)
    label = renderer.figure(fitted.polynomial, kept, [1.0], "t").axes[0].get_legend().get_texts()[0].get_text()
    assert label == "data (1,000,000 points, 300 kept and drawn)"


def test_a_loss_of_zero_is_said_and_one_epoch_has_whole_ticks(fitted):
    loss_axes = renderer.figure(fitted.polynomial, fitted.points, [2.0, 0.0, 0.0], "t").axes[-1]
    assert any("loss = 0 from epoch 2" in t.get_text() for t in loss_axes.texts)
    single = renderer.figure(fitted.polynomial, fitted.points, [2.0], "t").axes[-1]
    assert single.get_xlim() == (0.5, 2.5)


def test_user_text_is_not_tex(fitted):
    p = fitted.points
    named = Points(p.x, p.y, x_name="$\\foo$", y_name="price ($)")
    fig = renderer.figure(fitted.polynomial, named, [1.0], "cost ($) of $x$")
    renderer.save(fig, "unused.png", lambda path, data: None)  # drawing must not parse TeX
    assert fig.axes[0].get_ylabel() == "price ($)"


def test_the_curve_and_its_band_lie_above_dense_points(rng):
    x = rng.uniform(0, 6, 200_000)
    result = fit_points(Points(x, np.sin(x) + rng.normal(0, 0.1, x.size)), 5)
    fig = draw(result, band=lambda t: (result.polynomial(t) - 0.05, result.polynomial(t) + 0.05))
    axes = fig.axes[0]
    points = next(c for c in axes.collections if c.get_label().startswith("data"))
    band = next(c for c in axes.collections if "band" in c.get_label())
    curve = next(line for line in axes.lines if line.get_label().startswith("degree"))
    assert points.get_zorder() < band.get_zorder() < curve.get_zorder()
    assert points.get_alpha() <= 0.3 and points.get_rasterized()


def tick_labels(axes, which):
    axes.figure.canvas.draw()
    ticks = axes.get_xticklabels() if which == "x" else axes.get_yticklabels()
    return [t for t in ticks if t.get_text() and t.get_visible()]


@pytest.mark.parametrize("epochs", [12, 1_500, 20_000, 250_000, 3_000_000])
def test_epoch_ticks_never_run_into_each_other(epochs, fitted):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    history = list(np.geomspace(1.0, 1e-3, epochs))
    fig = renderer.figure(fitted.polynomial, fitted.points, history, "title")
    FigureCanvasAgg(fig)
    labels = tick_labels(fig.axes[-1], "x")
    boxes = sorted((t.get_window_extent().x0, t.get_window_extent().x1) for t in labels)
    assert len(labels) >= 2
    assert all(right + 2 < left for (_, right), (left, _) in zip(boxes, boxes[1:])), [t.get_text() for t in labels]
    units = {t.get_text()[-1] for t in labels if t.get_text() != "0"}
    assert len(units) == 1 or all(u.isdigit() for u in units)  # one unit (k or M) along the axis


def test_a_loss_within_a_decade_gets_plain_ticks(fitted):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = renderer.figure(fitted.polynomial, fitted.points, list(np.linspace(3.69, 3.4, 220)), "title")
    FigureCanvasAgg(fig)
    axes = fig.axes[-1]
    assert axes.get_yscale() == "linear"
    assert all("10" not in t.get_text() or "." in t.get_text() for t in tick_labels(axes, "y"))
    wide = renderer.figure(fitted.polynomial, fitted.points, list(np.geomspace(1, 1e-4, 50)), "title")
    assert wide.axes[-1].get_yscale() == "log"


@pytest.mark.parametrize("span_days", [0.4, 14, 95, 1900, 40_000])
@pytest.mark.parametrize("residuals", [False, True])
def test_date_ticks_never_run_into_each_other(span_days, residuals):
    """Hours, days, months, years and centuries: each label clear of the next, as the epochs are."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from fitbp.sources.dates import Axis

    x = np.linspace(0, span_days, 200)
    y = np.sin(x / span_days * 6)
    points = Points(x, y, x_axis=Axis.starting("2024-01-12"))
    result = fit_points(points, 4)
    fig = renderer.figure(result.polynomial, result.points, result.loss_history, "title", residuals=residuals)
    FigureCanvasAgg(fig)
    axes = fig.axes[1] if residuals else fig.axes[0]
    labels = tick_labels(axes, "x")
    boxes = sorted((t.get_window_extent().x0, t.get_window_extent().x1) for t in labels)
    assert len(labels) >= 2
    assert all(right + 2 < left for (_, right), (left, _) in zip(boxes, boxes[1:])), [t.get_text() for t in labels]
