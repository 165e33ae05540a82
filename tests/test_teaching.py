"""graph, gradcheck and the robust losses: what fitbp shows about learning, checked."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from helpers import FITBP, SINE, run

from fitbp.backprop import graph, gradcheck
from fitbp.views import graphview
from fitbp.sources.data import Points
from fitbp.fitting.losses import LOSSES
from fitbp.fitting.model import design_matrix, loss_and_gradient, loss_graph
from fitbp.fitting.trainer import fit_points


@pytest.fixture
def small_graph(rng):
    t = np.linspace(-1, 1, 9)
    y = t ** 2 + rng.normal(0, 0.1, t.size)
    k = np.array([0.1, -0.2, 0.3])
    a = graph.parameter(k, "a")
    root = loss_graph(design_matrix(t, 2), y, a)
    root.backward()
    return root, a, design_matrix(t, 2), y, k


def test_tree_names_every_operator_and_the_gradients(small_graph):
    from rich.console import Console

    root, a, design, y, k = small_graph
    console = Console(width=200, record=True)
    console.print(graphview.tree(root))
    text = console.export_text()
    for part in ["mean", "pow 2", "sub", "matmul", "const V", "param a", "const y", "no gradient (data)"]:
        assert part in text
    closed = 2 / y.size * design.T @ (design @ k - y)
    assert graphview.summary(closed) in text  # the parameter's gradient, as the closed form gives it


def test_dot_has_every_node_and_edge(small_graph):
    root = small_graph[0]
    text = graphview.dot(root)
    assert text.startswith('digraph "fitbp computing graph" {') and text.rstrip().endswith("}")
    assert len(re.findall(r"^  n\d+ \[label=", text, re.M)) == 7
    assert len(re.findall(r"^  n\d+ -> n\d+;", text, re.M)) == 6
    assert "pow 2" in text and "grad" in text


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz is not installed")
def test_graphviz_accepts_the_dot(small_graph):
    done = subprocess.run(["dot", "-Tsvg"], input=graphview.dot(small_graph[0]), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout


def test_graph_command_prints_the_tree_and_writes_dot(tmp_path):
    done = run("graph", "-d", "2", "--dot", "g.dot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "matmul" in done.stdout and "param a" in done.stdout
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    fitted = run("graph", SINE, "-d", "3", "--fitted", cwd=tmp_path)
    assert fitted.returncode == 0 and "trained coefficients" in fitted.stdout


def test_graph_through_the_triangle_has_the_whole_graphs_loss_and_gradient(tmp_path):
    """The mse rewrite shown by --triangle: R, z and ρ² in place of V and y, the same top value and the
    same gradient at a."""
    whole = run("graph", SINE, "-d", "3", cwd=tmp_path).stdout
    small = run("graph", SINE, "-d", "3", "--triangle", cwd=tmp_path).stdout
    assert "const R  [4×4]" in small and "const z  [4]" in small and "const ρ²" in small
    assert "const V" not in small and "[200]" not in small
    loss = lambda text: next(ln for ln in text.splitlines() if "[scalar]" in ln).split("value ")[1].split()[0]  # noqa: E731
    gradient = lambda text: next(ln for ln in text.splitlines() if "param a" in ln).split("grad ")[1]  # noqa: E731
    assert loss(small) == loss(whole) and gradient(small) == gradient(whole)
    refused = run("graph", SINE, "--triangle", "--loss", "mae", cwd=tmp_path)
    assert refused.returncode == 2 and "every residual" in refused.stderr


@pytest.mark.parametrize("loss", list(LOSSES))
def test_gradcheck_on_random_data(loss, rng):
    t = rng.uniform(-1, 1, 200)
    y = rng.normal(size=t.size)
    design = design_matrix(t, 4)
    rows = gradcheck.check(lambda k: loss_and_gradient(design, y, k, loss, 0.5), rng.normal(size=5))
    assert len(rows) == 5
    assert max(r.relative_error for r in rows) < 1e-6


def test_gradcheck_catches_a_wrong_gradient(rng):
    design = design_matrix(rng.uniform(-1, 1, 50), 2)
    y = rng.normal(size=50)

    def wrong(k):
        loss, grad = loss_and_gradient(design, y, k)
        return loss, grad * 1.001

    assert min(r.relative_error for r in gradcheck.check(wrong, rng.normal(size=3))) > 1e-4


def test_gradcheck_command(tmp_path):
    done = run("gradcheck", SINE, "-d", "5", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and len(report["rows"]) == 6
    assert report["step"] == 1e-6 and report["seed"] == 0 and report["loss"] == "mse"
    assert [row["value"] for row in report["rows"]] == np.random.default_rng(0).normal(size=6).tolist()
    table = run("gradcheck", SINE, "-d", "3", cwd=tmp_path).stdout.splitlines()
    assert table[0].startswith("d mse / d a_i by backprop against central differences (step 1e-06")
    assert "--seed 0" in table[0]
    assert table[1].split() == ["coefficient", "at", "backprop", "finite", "diff.", "rel.", "error", "check"]
    assert table[-1] == "all 4 gradients agree within 1e-06"
    huber = run("gradcheck", SINE, "-d", "3", "--loss", "huber", cwd=tmp_path).stdout
    assert huber.startswith("d huber (δ ")
    strict = run("gradcheck", SINE, "-d", "3", "--tol", "0", cwd=tmp_path)
    assert strict.returncode == 1 and strict.stderr.startswith("error: gradient check failed")
    assert strict.stdout.splitlines()[-1].startswith("4 of 4 gradients differ by more than 0: a_0, a_1")


def irls(design, y, weight, iterations=200):
    """Iteratively reweighted least squares: the independent reference for robust fits."""
    k = np.linalg.lstsq(design, y, rcond=None)[0]
    for _ in range(iterations):
        w = weight(design @ k - y)
        k = np.linalg.lstsq(design * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    return k


def test_robust_losses_resist_outliers_and_reach_their_optimum(rng):
    x = np.sort(rng.uniform(-2, 2, 300))
    truth = x ** 3 - x
    y = truth + rng.normal(0, 0.1, x.size)
    y[::25] += 30  # a dozen gross outliers
    points = Points(x, y)
    mse = fit_points(points, 3)
    huber = fit_points(points, 3, loss="huber", epochs=20000)
    mae = fit_points(points, 3, loss="mae", epochs=20000)
    error = {name: np.sqrt(np.mean((r.polynomial(x) - truth) ** 2)) for name, r in
             [("mse", mse), ("huber", huber), ("mae", mae)]}
    assert error["huber"] < error["mse"] / 5 and error["mae"] < error["mse"] / 5
    t = (x - huber.polynomial.center) / huber.polynomial.scale
    delta = huber.delta
    reference = irls(design_matrix(t, 3), y, lambda r: np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-12)))

    def huber_loss(k):
        r = np.abs(design_matrix(t, 3) @ k - y)
        return np.mean(np.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta)))

    assert huber_loss(np.array(huber.polynomial.coefficients)) <= huber_loss(reference) * (1 + 1e-6)


def test_cg_refuses_robust_losses(rng):
    from fitbp.errors import FitbpError

    x = rng.uniform(size=20)
    with pytest.raises(FitbpError, match="cg takes exact steps on the quadratic mse"):
        fit_points(Points(x, x), 1, optimizer="cg", loss="mae")


def test_fit_reports_standard_errors_like_numpy(tmp_path):
    done = run("fit", SINE, "-d", "4", "--json", "--no-save", cwd=tmp_path)
    summary = json.loads(done.stdout)
    data = np.loadtxt(SINE, delimiter=",", skiprows=1)
    x, y = data[:, 0], data[:, 1]
    coef, cov = np.polyfit(x, y, 4, cov="unscaled")
    residual = y - np.polyval(coef, x)
    dof = x.size - 5
    chi2 = residual @ residual / dof
    np.testing.assert_allclose(summary["stderr"], np.sqrt(np.diag(cov) * chi2)[::-1], rtol=1e-8)
    assert summary["reduced_chi2"] == pytest.approx(chi2, rel=1e-8) and summary["dof"] == dof
    assert summary["residual_mean"] == pytest.approx(residual.mean(), abs=1e-12)
    assert summary["residual_std"] == pytest.approx(residual.std(), rel=1e-8)


def test_band_in_the_plot_and_its_absence_explained(tmp_path):
    assert run("fit", SINE, "-d", "5", "-q", cwd=tmp_path).returncode == 0
    done = run("plot", "--band", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert run("fit", SINE, "-d", "3", "--loss", "mae", "--epochs", "50", "-q", cwd=tmp_path).returncode == 0
    refused = run("plot", "--band", cwd=tmp_path)
    assert refused.returncode == 1 and "no confidence band for this model" in refused.stderr


def test_band_is_drawn_around_the_curve(rng):
    from fitbp.views import renderer
    from fitbp.fitting import statistics

    x = rng.uniform(-1, 1, 100)
    result = fit_points(Points(x, x ** 2 + rng.normal(0, 0.1, x.size)), 2)
    stats = result.statistics
    band = lambda xs: statistics.confidence_band(result.polynomial, np.array(stats["covariance"]), stats["dof"], xs)  # noqa: E731
    fig = renderer.figure(result.polynomial, result.points, result.loss_history, "t", band=band)
    shaded = [c for c in fig.axes[0].collections if c.get_label().startswith("0.95 confidence band")]
    assert len(shaded) == 1


def test_training_film_from_the_command_line(tmp_path):
    from PIL import Image

    assert run("fit", SINE, "-d", "3", "--optimizer", "gd", "--epochs", "3000", "-q", cwd=tmp_path).returncode == 0
    done = run("plot", "--animate", "film.gif", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "film.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    with Image.open(tmp_path / "film.gif") as film:
        assert 30 <= film.n_frames <= 120
    refused = run("plot", "--animate", "film.avi", cwd=tmp_path)
    assert refused.returncode == 1 and "cannot make a film of format '.avi'" in refused.stderr


def test_sample_outliers_and_robust_fit(tmp_path):
    done = run("sample", "cubic", "--seed", "4", "--outliers", "15", cwd=tmp_path)
    (tmp_path / "o.csv").write_text(done.stdout)
    fits = {loss: json.loads(run("fit", "o.csv", "-d", "3", "--loss", loss, "--json", "--no-save", "-q",
                                 cwd=tmp_path).stdout) for loss in ("mse", "huber")}
    truth = np.array([2.0, -1.0, -2.0, 1.0])  # x^3 - 2x^2 - x + 2, ascending
    assert np.abs(np.array(fits["huber"]["coefficients"]) - truth).max() < 0.2
    assert np.abs(np.array(fits["mse"]["coefficients"]) - truth).max() > 0.5


@pytest.mark.parametrize("loss", [name for name, kind in LOSSES.items() if not kind.least_squares])
def test_robust_losses_keep_an_exact_fit(loss, rng):
    x = rng.uniform(-1, 1, 50)
    result = fit_points(Points(x, 1 - x + 2 * x ** 3), 3, loss=loss)
    assert result.converged and result.epochs == 1
    assert result.mse < 1e-25


@pytest.mark.parametrize("seed", range(1, 7))
def test_auto_degree_on_twenty_points_of_a_cubic(seed, tmp_path):
    done = subprocess.run(f"{' '.join(map(str, FITBP))} sample cubic --n 20 --seed {seed} | "
                          f"{' '.join(map(str, FITBP))} fit - --json --no-save -q", shell=True, cwd=tmp_path,
                          capture_output=True, text=True)
    assert json.loads(done.stdout)["degree"] == 3


def damaged_copy(tmp_path, change):
    assert run("fit", SINE, "-d", "2", "--optimizer", "gd", "--epochs", "40", "-q", cwd=tmp_path).returncode == 0
    document = json.loads((tmp_path / "fitbp.json").read_text())
    change(document)
    (tmp_path / "bad.json").write_text(json.dumps(document))


@pytest.mark.parametrize("name, change, command, fragment", [
    ("huge dof", lambda d: d.update(dof=10 ** 400), "--band", "'covariance' or 'dof' is damaged"),
    ("asymmetric", lambda d: d["covariance"][0].__setitem__(1, 5.0), "--band", "not a covariance matrix"),
    ("negative variance", lambda d: d["covariance"][1].__setitem__(1, -1.0), "--band", "not a covariance matrix"),
    ("far snapshot", lambda d: d["snapshots"][-1].update(epoch=10 ** 9), "--animate=f.gif", "'snapshots' is damaged"),
    ("negative loss", lambda d: d["loss_history"].__setitem__(0, -1.0), "--band", "'loss_history'"),
])
def test_damaged_statistics_and_snapshots(name, change, command, fragment, tmp_path):
    damaged_copy(tmp_path, change)
    done = run("plot", "-m", "bad.json", command, cwd=tmp_path)
    assert done.returncode == 1 and fragment in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "f.gif").exists()


def test_graph_dot_failure_prints_nothing(tmp_path):
    done = run("graph", "--dot", "missing/g.dot", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == "" and "missing/g.dot: cannot write" in done.stderr
