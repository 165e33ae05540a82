"""One data protocol for points held and points streamed (fitbp.sources.data.Data).

The fit, the degree selection and the JSON ask their data the same questions whoever holds the
points: how many, their x range, a pass over every point, the points a degree is chosen on, how
they were read.  A third kind of data written against the protocol alone, which neither trainer
nor selection has heard of, must fit as the held points do; and neither module may ask which
kind of data it was given.
"""

import ast
import functools
from pathlib import Path

import numpy as np
import pytest

from fitbp.engines import cluster, first, local, moments, passes
from fitbp.errors import FitbpError
from fitbp.fitting.trainer import fit_points
from fitbp.selection import fit_auto, select_table
from fitbp.sources.data import Data, Points, Stream, even_sample

PACKAGE = Path(__file__).resolve().parent.parent / "fitbp"


class Partitioned:
    """Points kept apart in partitions and never held together: each pass runs on every partition
    and joins the results pairwise, as a cluster would; it knows only the protocol."""

    held = False
    HELD = ", which this test keeps apart"
    KEPT = 60
    source, x_name, y_name, skipped, sources = "<partitions>", "x", "y", 0, None

    def __init__(self, partitions):
        self.partitions, self.parts, self.passes = partitions, {}, 0
        x, y = (np.concatenate(column) for column in zip(*partitions))
        keep = even_sample(x.size, self.KEPT)
        self.x, self.y, self.count = x[keep], y[keep], x.size
        self.low, self.high = float(x.min()), float(x.max())
        self.y_exponent = moments.unit_exponent(y)
        self.distinct = min(np.unique(x).size, first.MOST_DISTINCT)

    @property
    def x_range(self):
        return self.low, self.high

    @property
    def rows(self):
        return self.count

    def sample(self):
        return Points(self.x, self.y, self.source)

    def reduce(self, task, join, *arguments):
        self.passes += 1
        return functools.reduce(join, [task([partition], *arguments) for partition in self.partitions])

    def part(self, degree):
        if degree not in self.parts:
            self.parts[degree] = passes.part(self, degree)
        return self.parts[degree]

    def engine(self):
        return {"name": "partitions", "passes": self.passes}


def partitioned(x, y, size):
    return Partitioned([(x[i:i + size], y[i:i + size]) for i in range(0, x.size, size)])


def wavy(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 3.0, n)
    return x, np.sin(2.0 * x) + 0.3 * x**2 + rng.normal(0.0, 0.05, n)


def test_a_third_kind_of_data_fits_as_the_held_points_do():
    x, y = wavy()
    held, apart = fit_points(Points(x, y), 5), fit_points(partitioned(x, y, 700), 5)
    np.testing.assert_allclose(apart.raw_coefficients, held.raw_coefficients, rtol=1e-9)
    assert apart.mse == pytest.approx(held.mse, rel=1e-9)
    summary = apart.summary()
    assert summary["x_range"] == [float(x.min()), float(x.max())] and summary["n_points"] == x.size
    assert summary["engine"] == {"name": "partitions", "passes": 1}  # the triangle's; it vouches for the residuals


def test_its_passes_check_an_ill_conditioned_fit_against_the_optimum():
    x, y = wavy()
    held, apart = fit_points(Points(x, y), 24), fit_points(partitioned(x, y, 500), 24)
    assert apart.condition > 1e8 and "least-squares optimum" in " ".join(apart.warnings)
    assert apart.mse == pytest.approx(held.mse, rel=1e-8)
    assert apart.engine["passes"] == 3  # the triangle, the optimum and the residuals, each joined from 6 partitions


def test_its_degree_is_chosen_on_its_sample_and_fitted_on_every_point():
    x, y = wavy()
    apart = partitioned(x, y, 700)
    result = fit_auto(apart)
    on_sample = select_table(Points(apart.x, apart.y))
    assert result.selection["chosen"] == on_sample.chosen
    assert (f"the degree was chosen on an even sample of {apart.KEPT} of the {x.size} points, which this test "
            "keeps apart") in result.selection["notes"]
    held = fit_points(Points(x, y), result.selection["chosen"])
    np.testing.assert_allclose(result.raw_coefficients, held.raw_coefficients, rtol=1e-9)


def test_fixed_terms_are_kept_on_points_that_are_not_held():
    x, y = wavy()
    held, apart = fit_points(Points(x, y), 5, fixed={0: 0.5}), fit_points(partitioned(x, y, 700), 5, fixed={0: 0.5})
    np.testing.assert_allclose(apart.raw_coefficients, held.raw_coefficients, rtol=1e-12)
    assert apart.raw_coefficients[0] == 0.5 and apart.statistics["stderr"][0] == 0.0
    assert apart.statistics["stderr"] == pytest.approx(held.statistics["stderr"], rel=1e-9)


@pytest.mark.parametrize("options, said", [({"loss": "huber", "optimizer": "adam"},
                                            "steps on every point at every epoch of the huber loss")])
def test_what_needs_every_point_in_memory_asks_whether_it_is_held(options, said):
    x, y = wavy(n=600)
    with pytest.raises(FitbpError, match=said):
        fit_points(partitioned(x, y, 100), 3, **options)


def members(protocol):
    """The names a Protocol asks for, its bases' included."""
    names = set()
    for cls in protocol.__mro__:
        if getattr(cls, "_is_protocol", False) and cls.__module__ != "typing":
            names |= set(vars(cls).get("__annotations__", {}))
            names |= {name for name, value in vars(cls).items()
                      if not name.startswith("_") and (callable(value) or isinstance(value, property))}
    return names


def test_held_streamed_and_distributed_points_give_every_member(tmp_path):
    x, y = wavy(n=5000)
    np.savetxt(tmp_path / "d.csv", np.column_stack([x, y]), delimiter=",", header="x,y", comments="")
    held, streamed = local.load([str(tmp_path / "d.csv")]), local.load([str(tmp_path / "d.csv")], memory=4096)
    assert held.held and not streamed.held
    assert all(hasattr(held, name) for name in members(Data)), members(Data) - set(dir(held))
    assert all(hasattr(streamed, name) for name in members(Stream)), members(Stream) - set(dir(streamed))
    assert held.x_range == streamed.x_range and held.count == streamed.count
    assert issubclass(cluster.Distributed, local.Streamed) and "reduce" in vars(cluster.Distributed)


@pytest.mark.parametrize("module", ["fitting/trainer.py", "selection.py"])
def test_the_fit_and_the_selection_never_ask_which_data_they_have(module):
    tree = ast.parse((PACKAGE / module).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"fitbp.engines.local", "fitbp.engines.cluster"}
    named = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not named & {"Streamed", "Distributed"}
