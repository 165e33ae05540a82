"""The training film: real GIF files of a real gradient descent, frames chosen over log(epoch), atomic writes."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fitbp.views import film
from fitbp.errors import FitbpError
from fitbp.sources.data import Points
from fitbp.fitting.model import Polynomial, design_matrix, scaling


def snapshot_epochs(epochs):
    """The sparse epochs the trainer keeps: every one up to 50, then each 5 % further, and the last."""
    kept, last = [], 0
    for epoch in range(1, epochs + 1):
        if epoch <= 50 or epoch >= last * 1.05 or epoch == epochs:
            kept.append(epoch)
            last = epoch
    return kept


def descend(x, y, degree=3, epochs=10_000, lr=0.3):
    """Plain gradient descent on the MSE in the scaled variable: center, scale, snapshots and loss history."""
    center, scale = scaling(x)
    design = design_matrix((x - center) / scale, degree)
    a = np.random.default_rng(0).normal(scale=0.01, size=degree + 1)
    keep = set(snapshot_epochs(epochs))
    history, snapshots = [], []
    for epoch in range(1, epochs + 1):
        a = a - lr * (2 / x.size) * (design.T @ (design @ a - y))
        residual = design @ a - y
        history.append(float(np.mean(residual * residual)))
        if epoch in keep:
            snapshots.append((epoch, tuple(float(v) for v in a)))
    return center, scale, snapshots, history


@pytest.fixture(scope="module")
def cubic():
    rng = np.random.default_rng(7)
    x = np.sort(rng.uniform(-2, 3, 200))
    y = x**3 - 2 * x**2 - x + 2 + rng.normal(0, 0.5, x.size)
    return Points(x, y, source="cubic.csv")


@pytest.fixture(scope="module")
def trained(cubic):
    return descend(cubic.x, cubic.y)


def frames_in(path):
    with Image.open(path) as image:
        return image.n_frames


def temporaries(folder):
    return [name for name in os.listdir(folder) if name.startswith(".")]


def test_descent_fixture_is_a_real_training(trained):
    center, scale, snapshots, history = trained
    assert len(history) == 10_000 and snapshots[-1][0] == 10_000
    assert 100 < len(snapshots) < 250  # sparse
    assert history[-1] < history[0] / 10
    assert all(b <= a * (1 + 1e-12) for a, b in zip(history, history[1:]))  # gd with a safe rate only falls


def test_gif_has_signature_and_one_frame_per_chosen_snapshot(cubic, trained, tmp_path):
    center, scale, snapshots, history = trained
    path = tmp_path / "fit.gif"
    written = film.animate(cubic, center, scale, snapshots, history, path, title="cubic.csv", most_frames=40)
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert written == len(film.frame_epochs([e for e, _ in snapshots], 40)) == 40
    assert frames_in(path) == written
    assert temporaries(tmp_path) == []


def test_ten_thousand_epochs_make_a_film_of_bounded_length(cubic, trained, tmp_path):
    """Its speed is a benchmark's business (bench/run.py), not a test's: only the frames and the size."""
    center, scale, snapshots, history = trained
    path = tmp_path / "film.gif"
    written = film.animate(cubic, center, scale, snapshots, history, path, title="gd, 10,000 epochs")
    assert len(history) == 10_000
    assert written == frames_in(path) == film.MOST_FRAMES
    assert path.stat().st_size < 5e6


@pytest.mark.parametrize("epochs, most", [
    (snapshot_epochs(10_000), 120), (snapshot_epochs(10_000), 30), (snapshot_epochs(10_000), 2),
    (snapshot_epochs(100_000), 120), (list(range(1, 10_001)), 120), (list(range(0, 60)), 120),
    (list(range(0, 60)), 10), ([3], 120), ([5, 5, 5, 6, 9], 3), (snapshot_epochs(40), 120),
])
def test_frame_choice_keeps_first_and_last_in_order_within_the_budget(epochs, most):
    chosen = film.frame_epochs(epochs, most)
    assert chosen[0] == 0 and chosen[-1] == len(epochs) - 1
    assert all(a < b for a, b in zip(chosen, chosen[1:]))
    assert len(chosen) <= most
    if len(epochs) <= most:
        assert chosen == list(range(len(epochs)))
    else:
        assert len(chosen) >= min(most, len(epochs)) * 0.8  # the budget is used, not wasted


def test_frames_are_spread_evenly_over_log_epoch():
    epochs = list(range(1, 10_001))  # a snapshot every epoch: the spacing is free to be even
    chosen = [epochs[i] for i in film.frame_epochs(epochs, 120)]
    assert chosen[:10] == list(range(1, 11))  # the fast start, epoch by epoch
    late = np.asarray([e for e in chosen if e >= 100])  # where rounding to whole epochs does not matter
    gaps = np.diff(np.log(late))
    assert gaps.max() < 1.2 * gaps.min()
    assert sum(e > 1000 for e in chosen) >= 20  # the slow end keeps its share too


def test_unknown_extensions_are_refused_before_drawing(cubic, trained, tmp_path):
    center, scale, snapshots, history = trained
    for name in ["fit.png", "fit", "fit.gif.txt", "fit.avi"]:
        with pytest.raises(FitbpError, match=r"use \.gif") as error:
            film.animate(cubic, center, scale, snapshots, history, tmp_path / name)
        assert name in str(error.value)
    assert os.listdir(tmp_path) == []


def test_mp4_without_ffmpeg_says_so(cubic, trained, tmp_path, monkeypatch):
    center, scale, snapshots, history = trained
    monkeypatch.setattr(film.shutil, "which", lambda name, *args, **kwargs: None)
    with pytest.raises(FitbpError, match=r"\.mp4 needs ffmpeg on the PATH; use \.gif"):
        film.animate(cubic, center, scale, snapshots, history, tmp_path / "fit.mp4")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not __import__("shutil").which("ffmpeg"), reason="ffmpeg is not on the PATH")
def test_mp4_with_ffmpeg(cubic, trained, tmp_path):
    center, scale, snapshots, history = trained
    path = tmp_path / "fit.mp4"
    film.animate(cubic, center, scale, snapshots, history, path, most_frames=20)
    assert path.read_bytes()[4:8] == b"ftyp"
    assert temporaries(tmp_path) == []


def gif_writer():
    import matplotlib.animation

    return film._gif_writer_class(matplotlib.animation)


@pytest.mark.parametrize("where", ["grab_frame", "finish"])
def test_interrupted_write_leaves_the_old_file_and_no_temporary(where, cubic, trained, tmp_path, monkeypatch):
    center, scale, snapshots, history = trained
    path = tmp_path / "fit.gif"
    path.write_bytes(b"the old film")
    real = getattr(gif_writer(), where)
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if where == "finish":
            real(self)  # the temporary file is complete on disk when the interrupt comes
            assert any(name.endswith(".gif") for name in temporaries(tmp_path))
            raise KeyboardInterrupt
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(gif_writer(), where, interrupted)
    with pytest.raises(KeyboardInterrupt):
        film.animate(cubic, center, scale, snapshots, history, path, most_frames=20)
    assert path.read_bytes() == b"the old film"
    assert temporaries(tmp_path) == []

    fresh = tmp_path / "new.gif"
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        film.animate(cubic, center, scale, snapshots, history, fresh, most_frames=20)
    assert not fresh.exists() and temporaries(tmp_path) == []


def test_failed_write_is_one_error_and_no_temporary(cubic, trained, tmp_path, monkeypatch):
    center, scale, snapshots, history = trained

    def full(self):
        with open(self.outfile, "wb") as handle:
            handle.write(b"GIF89a")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gif_writer(), "finish", full)
    with pytest.raises(FitbpError, match="No space left on device"):
        film.animate(cubic, center, scale, snapshots, history, tmp_path / "fit.gif", most_frames=5)
    assert os.listdir(tmp_path) == []
    with pytest.raises(FitbpError, match="cannot write"):
        film.animate(cubic, center, scale, snapshots, history, tmp_path / "missing" / "fit.gif")
    (tmp_path / "films.gif").mkdir()
    with pytest.raises(FitbpError, match="is a directory"):
        film.animate(cubic, center, scale, snapshots, history, tmp_path / "films.gif")


def test_existing_file_keeps_its_permissions(cubic, trained, tmp_path):
    center, scale, snapshots, history = trained
    path = tmp_path / "fit.gif"
    path.write_bytes(b"old")
    path.chmod(0o640)
    film.animate(cubic, center, scale, snapshots, history, path, most_frames=3)
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_bytes()[:3] == b"GIF"


def test_frames_show_each_snapshot_with_fixed_limits(cubic, trained):
    center, scale, snapshots, history = trained
    chosen = [snapshots[i] for i in film.frame_epochs([e for e, _ in snapshots], 12)]
    points = Points(cubic.x, cubic.y, x_name="cost $ per year", y_name="$y$")
    fig, update = film._film_figure(points, center, scale, chosen, np.asarray(history), "a $title$")
    fit_axes, loss_axes = fig.axes
    limits = fit_axes.get_ylim()
    assert limits[0] < cubic.y.min() and limits[1] > cubic.y.max()
    curve = fit_axes.lines[0]
    for i, (epoch, coefficients) in enumerate(chosen):
        update(i)
        xs, ys = curve.get_data()
        expected = Polynomial(coefficients, center, scale)(xs)
        visible = (expected > limits[0]) & (expected < limits[1])
        np.testing.assert_allclose(ys[visible], expected[visible])
        assert fit_axes.get_ylim() == limits
        assert f"epoch {epoch:,}" in fit_axes.texts[0].get_text()
        assert f"{history[epoch - 1]:.4g}" in fit_axes.texts[0].get_text()
        dot = loss_axes.lines[-1].get_data()
        assert list(dot[0]) == [epoch] and list(dot[1]) == [history[epoch - 1]]
    assert loss_axes.get_yscale() == "log" and loss_axes.get_xscale() == "log"
    # user text is drawn as it is, never as TeX
    assert fit_axes.xaxis.label.get_text() == "cost $ per year" and not fit_axes.xaxis.label.get_parse_math()
    assert not fit_axes.yaxis.label.get_parse_math()
    assert fit_axes.get_title(loc="left") == "a $title$" and not fit_axes._left_title.get_parse_math()


def test_a_snapshot_before_the_first_epoch_shows_its_own_loss(tmp_path):
    x = np.linspace(0, 1, 30)
    y = 2 * x
    snapshots = [(0, (0.0, 0.0)), (1, (0.5, 0.5)), (2, (1.0, 1.0))]
    path = tmp_path / "short.gif"
    as_saved = [{"epoch": e, "taylor_coefficients": list(c)} for e, c in snapshots]  # the model file's shape
    assert film.animate(Points(x, y), 0.5, 0.5, as_saved, [0.5, 0.0], path) == 3
    assert frames_in(path) == 3
    fig, update = film._film_figure(Points(x, y), 0.5, 0.5, snapshots, np.asarray([0.5, 0.0]), "")
    update(0)
    assert fig.axes[0].texts[0].get_text() == f"epoch 0\nloss  {np.mean(y * y):.4g}"


def test_importing_the_film_does_not_import_matplotlib():
    code = "import sys, fitbp.views.film; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("loss, delta", [("mse", None), ("mae", None), ("huber", 0.3)])
def test_the_film_shows_the_loss_that_was_trained(loss, delta):
    """A huber or mae film labels its own loss, and its snapshot before the first epoch shows that
    loss of the points, computed here with numpy."""
    x = np.linspace(0, 1, 30)
    y = 2 * x + np.where(np.arange(30) % 7 == 0, 3.0, 0.0)
    snapshots = [(0, (0.0, 0.0)), (1, (1.0, 1.0))]
    fig, update = film._film_figure(Points(x, y), 0.5, 0.5, snapshots, np.asarray([0.4]), "", loss, delta)
    update(0)
    r = np.abs(y)
    q = np.minimum(r, delta or 1.0)
    expected = {"mse": np.mean(r * r), "mae": np.mean(r), "huber": np.mean(q * (r - q / 2))}[loss]
    assert fig.axes[0].texts[0].get_text() == f"epoch 0\nloss  {expected:.4g}"
    assert fig.axes[1].get_ylabel() == f"loss ({loss}" + (f", δ {delta:.4g})" if delta else ")")
