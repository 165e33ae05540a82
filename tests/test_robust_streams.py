"""--loss huber and mae past --memory and on a dask cluster: the held points' optimum, to rounding.

Each Newton step of the robust losses is one pass over the design rows (fitbp.engines.passes.rows): the
rows held, a stream's blocks read again, a cluster's partitions reduced and joined.  The same file fitted
held, streamed and in partitions whose every pass goes through pickle (as dask sends tasks to worker
processes) must give the same coefficients, δ and median |residual| to 1e-12 of the largest coefficient,
and the independent references of tests/test_robust.py.
"""

import functools
import json
import pickle

import numpy as np
import pytest

from fitbp.engines import local, passes
from fitbp.errors import FitbpError
from fitbp.fitting import bases, robust, trainer
from fitbp.fitting.trainer import Points, fit_points
from fitbp.sources.data import even_sample

from helpers import run
from test_data import Partitioned
from test_robust import cubic_with_outliers, design_of, irls_huber, linprog_l1, mae_of, relative

ROWS = 30_000


class Pickled(Partitioned):
    """Points in partitions, each pass's task, arguments and every partition's result sent through pickle
    as dask sends them to worker processes, and joined pairwise; its even sample is not every point."""

    HELD = ", which this test pickles"
    KEPT = 5000

    def reduce(self, task, join, *arguments):
        self.passes += 1
        task, join, arguments = pickle.loads(pickle.dumps((task, join, arguments)))
        found = [pickle.loads(pickle.dumps(task([partition], *arguments))) for partition in self.partitions]
        return functools.reduce(join, found)


def pickled(x, y, partitions=7):
    cuts = np.linspace(0, x.size, partitions + 1).astype(int)
    return Pickled([(x[a:b], y[a:b]) for a, b in zip(cuts[:-1], cuts[1:])])


@pytest.fixture(scope="module")
def outliers(tmp_path_factory):
    """A CSV of a cubic with 5 % gross outliers, and its points as read back."""
    x, y = cubic_with_outliers(ROWS, 21)
    path = tmp_path_factory.mktemp("robust") / "outliers.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.17g")
    return str(path), local.load([str(path)], 3)


def same(found, held):
    """The same fit, to rounding: coefficients, δ, loss and median |r|."""
    assert found.converged and held.converged
    assert relative(found.polynomial.coefficients, np.array(held.polynomial.coefficients)) <= 1e-12
    assert found.final_loss == pytest.approx(held.final_loss, rel=1e-12)
    assert found.median_abs_residual == pytest.approx(held.median_abs_residual, rel=1e-12)
    assert (found.delta is None and held.delta is None) or found.delta == pytest.approx(held.delta, rel=1e-12)


@pytest.mark.parametrize("loss", robust.FITTED)
def test_held_streamed_and_pickled_partitions_give_the_same_optimum(outliers, loss):
    path, held_points = outliers
    streamed_points = local.load([path], 3, memory=1 << 18)
    assert held_points.held and not streamed_points.held and streamed_points.count == ROWS
    held = fit_points(held_points, 3, loss=loss)
    streamed = fit_points(streamed_points, 3, loss=loss)
    apart = fit_points(pickled(held_points.x, held_points.y), 3, loss=loss)
    same(streamed, held)
    same(apart, held)
    assert streamed.engine["streamed"] and streamed.engine["passes"] > held.epochs
    x, y = held_points.x, held_points.y
    design = design_of(held, x)
    if loss == "huber":  # δ from every point's residuals, exactly: the held one's, by numpy
        residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        assert held.delta == pytest.approx(1.345 * 1.4826 * np.median(np.abs(residual - np.median(residual))),
                                           rel=1e-9)
        assert relative(held.polynomial.coefficients, irls_huber(design, y, held.delta)) < 1e-10
    else:
        reference = linprog_l1(design, y)
        assert held.final_loss == pytest.approx(mae_of(design, y, reference), rel=1e-9)
        assert relative(held.polynomial.coefficients, reference) < 1e-7
    k = np.array(held.polynomial.coefficients)
    assert held.median_abs_residual == pytest.approx(float(np.median(np.abs(design @ k - y))), rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_a_line_search_by_passes_gives_the_held_stationary_point(seed):
    """δ a fifth of the noise and two fifths of the points shifted one way, where Newton steps overshoot
    and are shortened (test_robust): the line search's two passes over partitions agree with the held."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 300)
    y = np.sin(3 * x) + rng.normal(0, 0.05, x.size)
    y[rng.random(x.size) < 0.4] += 5
    degree = int(rng.integers(2, 7))
    held = fit_points(Points(x, y), degree, loss="huber", delta=0.01)
    apart = fit_points(pickled(x, y, 6), degree, loss="huber", delta=0.01)
    assert held.converged and apart.converged and apart.epochs == held.epochs
    assert relative(apart.polynomial.coefficients, np.array(held.polynomial.coefficients)) <= 1e-12


def test_mae_finds_the_x_its_sample_missed_in_a_pass():
    """A degree 2 on three x, one of them on a single row that the even sample steps over: a pass finds
    rows of every x for the first vertex (robust._distinct)."""
    x = np.tile([0.0, 1.0], 6000)
    skipped = np.setdiff1d(np.arange(x.size), even_sample(x.size, Pickled.KEPT))
    x[skipped[skipped.size // 2]] = 2.0
    y = x ** 2 + np.random.default_rng(8).normal(0, 0.1, x.size)
    apart = pickled(x, y, 4)
    assert 2.0 not in apart.x
    held, found = fit_points(Points(x, y), 2, loss="mae"), fit_points(apart, 2, loss="mae")
    assert found.converged and held.converged
    design = design_of(held, x)
    assert found.final_loss == pytest.approx(mae_of(design, y, linprog_l1(design, y)), rel=1e-9)
    assert found.final_loss == pytest.approx(held.final_loss, rel=1e-12)


@pytest.mark.parametrize("count", [12_001, 12_000])
@pytest.mark.parametrize("bracket", [passes.BRACKET, 1e-9])
def test_the_median_of_every_residual_is_numpys(count, bracket, monkeypatch):
    """Bracketed on the even sample and found in one pass; with a bracket too narrow to hold it, in
    wider ones."""
    monkeypatch.setattr(passes, "BRACKET", bracket)
    x, y = cubic_with_outliers(count, 9)
    apart = pickled(x, y, 5)
    problem = trainer.prepare(apart, 3)
    k = np.array([2.0, -1.0, -2.0, 1.0]) / problem.y_unit
    residual = problem.basis.columns((x - problem.center) / problem.scale, 3) @ k - y / problem.y_unit
    first = apart.passes
    assert passes.median_residual(apart, problem, k) == np.median(residual)
    assert passes.median_distance(apart, problem, k, 0.25) == np.median(np.abs(residual - 0.25))
    assert apart.passes - first == 2 if bracket > 1 else apart.passes - first > 4


def test_adam_on_a_robust_loss_needs_the_points_held():
    x, y = cubic_with_outliers(600, 10)
    with pytest.raises(FitbpError, match="optimizer='adam' steps on every point at every epoch of the mae loss, "
                                         "and this process does not hold the 600 points, which this test pickles: "
                                         "use optimizer='newton'"):
        fit_points(pickled(x, y), 3, loss="mae", optimizer="adam")


def test_a_basis_pickles_as_itself():
    for basis in bases.BASES.values():
        assert pickle.loads(pickle.dumps(basis)) is basis


distributed = pytest.importorskip("distributed", reason="--engine dask needs the dask extra")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as connected:
        yield connected


@pytest.mark.parametrize("loss", robust.FITTED)
def test_dask_gives_the_held_optimum(client, outliers, loss):
    from fitbp.engines import cluster

    path, held_points = outliers
    spread = cluster.load(client, [path], 3, partition_size=64 << 10)
    assert spread.partitions > 10
    found = fit_points(spread, 3, loss=loss)
    same(found, fit_points(held_points, 3, loss=loss))
    assert found.engine["name"] == "dask" and found.engine["passes"] > found.epochs


def test_the_command_line_fits_huber_past_memory_and_on_dask(outliers, tmp_path):
    """Whole processes: a stream read again, and a LocalCluster of worker processes, whose tasks and
    sums travel pickled."""
    path, _ = outliers
    fit = ("fit", path, "-d", "3", "--loss", "huber", "--json", "--no-save")
    held, streamed, spread = (json.loads(run(*fit, *more, cwd=tmp_path).stdout) for more in (
        (), ("--memory", "256k"), ("--engine", "dask", "--partition-size", "256k")))
    assert streamed["engine"]["streamed"] and spread["engine"]["name"] == "dask"
    for found in (streamed, spread):
        assert found["converged"] and found["huber_delta"] == pytest.approx(held["huber_delta"], rel=1e-12)
        assert relative(found["taylor_coefficients"], np.array(held["taylor_coefficients"])) <= 1e-12
