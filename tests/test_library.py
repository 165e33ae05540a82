"""fitbp.fit and its Fit, against the command line on the same data and against statsmodels.

The command line is the reference for every number a Fit holds (coefficients to the last bit, the
table, the exports, the model file); statsmodels for the intervals; numpy's datetime64 for dates.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, run

import fitbp
from fitbp.fitting import modelfile

SINE = ROOT / "sample_data" / "sine.csv"


@pytest.fixture(scope="module")
def sine():
    """x and y of the sample, read back exactly, and the command line's fit of the file."""
    lines = SINE.read_text().splitlines()[1:]
    x, y = (np.array(column) for column in zip(*[map(float, line.split(",")) for line in lines]))
    return x, y


def cli_json(folder, *args, stdin=None):
    done = run("fit", *args, "--json", "--no-save", cwd=folder, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def csv_of(x, y, header="x,y"):
    return header + "\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(np.asarray(x).tolist(), np.asarray(y).tolist()))


@pytest.mark.parametrize("form", ["lists", "tuples", "arrays", "column vectors", "float32", "pandas", "polars",
                                  "DataFrame", "polars DataFrame", "path"])
def test_every_form_of_data_gives_the_command_lines_coefficients_to_the_bit(form, sine, tmp_path):
    x, y = sine
    if form == "float32":  # any real dtype: the same numbers as the CSV of their float64 values
        x, y = x.astype(np.float32), y.astype(np.float32)
    expected = cli_json(tmp_path, "-", "-d", "5", stdin=csv_of(x.astype(np.float64), y.astype(np.float64)))
    if form in ("pandas", "DataFrame"):
        pd = pytest.importorskip("pandas")
    if form in ("polars", "polars DataFrame"):
        pl = pytest.importorskip("polars")
    made = {
        "lists": lambda: fitbp.fit(x.tolist(), y.tolist(), degree=5),
        "tuples": lambda: fitbp.fit(tuple(x.tolist()), tuple(y.tolist()), degree=5),
        "arrays": lambda: fitbp.fit(x, y, degree=5),
        "column vectors": lambda: fitbp.fit(x[:, None], y[:, None], degree=5),
        "float32": lambda: fitbp.fit(x, y, degree=5),
        "pandas": lambda: fitbp.fit(pd.Series(x), pd.Series(y), degree=5),
        "polars": lambda: fitbp.fit(pl.Series(x), pl.Series(y), degree=5),
        "DataFrame": lambda: fitbp.fit(pd.DataFrame({"t": x, "v": y}), x="t", y="v", degree=5),
        "polars DataFrame": lambda: fitbp.fit(pl.DataFrame({"t": x, "v": y}), x="t", y="v", degree=5),
        "path": lambda: fitbp.fit(SINE, degree=5),
    }[form]()
    assert made.coef.tolist() == expected["coefficients"]
    assert made.taylor.coefficients == tuple(expected["taylor_coefficients"])
    assert made.mse == expected["mse"] and made.dof == expected["dof"]


def test_auto_degree_weights_and_fixed_terms_as_the_command_line(tmp_path):
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 4, 80))
    s = rng.uniform(0.05, 0.3, x.size)
    y = 1 + 0.5 * x - 0.3 * x ** 2 + 0.05 * x ** 3 + rng.normal(0, s)
    (tmp_path / "d.csv").write_text("x,y,s\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in
                                                         zip(x.tolist(), y.tolist(), s.tolist())))
    cli = cli_json(tmp_path, "d.csv", "--sigma", "s", "--fix", "0=1", "--absolute-sigma")
    made = fitbp.fit(x, y, sigma=s, fix={0: 1.0}, absolute_sigma=True)
    assert made.degree == cli["degree"] and made.coef.tolist() == cli["coefficients"]
    assert made.stderr.tolist() == cli["stderr"] and made.chi2 == cli["chi2"]
    by_name = fitbp.fit(tmp_path / "d.csv", sigma="s", fix={0: 1.0}, absolute_sigma=True)
    assert by_name.coef.tolist() == cli["coefficients"]


def test_intervals_agree_with_statsmodels(sine):
    sm = pytest.importorskip("statsmodels.api")
    x, y = sine
    made = fitbp.fit(x, y, degree=3)
    grid = np.linspace(x.min(), x.max(), 17)
    ols = sm.OLS(y, np.vander(x, 4, increasing=True)).fit()
    frame = ols.get_prediction(np.vander(grid, 4, increasing=True)).summary_frame(alpha=0.1)
    confidence = made.predict(grid, interval="confidence", level=0.9)
    prediction = made.predict(grid, interval="prediction", level=0.9)
    np.testing.assert_allclose(confidence.y, frame["mean"], rtol=1e-8)
    np.testing.assert_allclose(confidence.lower, frame["mean_ci_lower"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(confidence.upper, frame["mean_ci_upper"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(prediction.lower, frame["obs_ci_lower"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(prediction.upper, frame["obs_ci_upper"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(made.conf_int(0.9), ols.conf_int(alpha=0.1), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(made.stderr, ols.bse, rtol=1e-8)
    np.testing.assert_allclose(made.pvalues, ols.pvalues, rtol=1e-6, atol=1e-300)


def test_save_and_load_give_the_command_lines_predictions_exactly(sine, tmp_path):
    x, y = sine
    made = fitbp.fit(x, y, degree=5)
    path = made.save(tmp_path / "model.json")
    loaded = fitbp.load(path)
    grid = np.linspace(-1, 7, 41)
    assert loaded(grid).tolist() == made(grid).tolist()
    predicted = run("predict", "-m", "model.json", "--interval", "prediction", cwd=tmp_path,
                    stdin="".join(f"{v!r}\n" for v in grid.tolist()))
    rows = np.array([[float(v) for v in line.split(",")] for line in predicted.stdout.splitlines()])
    interval = loaded.predict(grid, interval="prediction")
    assert rows[:, 1].tolist() == interval.y.tolist() and rows[:, 2].tolist() == interval.lower.tolist()
    assert rows[:, 3].tolist() == interval.upper.tolist()
    inverse = run("predict", "-m", "model.json", "--inverse", "0.5", cwd=tmp_path)
    assert [float(line.split(",")[1]) for line in inverse.stdout.splitlines()] == loaded.inverse(0.5)[0].tolist()
    for language in ("c", "python", "excel", "numpy"):
        assert loaded.export(language) == made.export(language) == run(
            "export", "--to", language, "-m", "model.json", cwd=tmp_path).stdout
    assert loaded.summary() == made.summary()


def test_to_dict_and_summary_are_what_the_command_line_prints(sine, tmp_path):
    x, y = sine
    stdin = csv_of(x, y)
    cli = cli_json(tmp_path, "-", "-d", "4", stdin=stdin)
    made = fitbp.fit(x, y, degree=4).to_dict()
    for key in ("seconds", "source"):  # a clock, and where the points came from
        cli.pop(key), made.pop(key)
    assert json.loads(modelfile.dumps(made)) == cli  # as --json writes it: infinities as null
    table = run("fit", "-", "-d", "4", "--no-save", stdin=stdin, cwd=tmp_path).stdout
    ours = fitbp.fit(x, y, degree=4).summary()
    strip = lambda text: [line for line in text.splitlines()[1:] if not line.strip().startswith("time")]  # noqa: E731
    assert strip(ours) == strip(table)
    assert "<pre>" in fitbp.fit(x, y, degree=4)._repr_html_()


def test_dates_as_datetime64_fit_as_a_csv_of_dates(tmp_path):
    rng = np.random.default_rng(8)
    moments = np.datetime64("2024-02-27T06:00") + np.sort(rng.integers(0, 90 * 1440, 60)).astype("timedelta64[m]")
    y = rng.normal(size=moments.size).cumsum()
    (tmp_path / "d.csv").write_text(csv_of([str(m) for m in moments], y, "when,v").replace("'", ""))
    cli = cli_json(tmp_path, "d.csv", "-d", "2")
    made = fitbp.fit(moments, y, degree=2)
    assert made.coef.tolist() == cli["coefficients"] and made.x_range == tuple(cli["x_range"])
    asked = np.array(["2024-03-01T12:00", "2024-04-02"], dtype="datetime64[m]")
    by_text = made.predict(["2024-03-01T12:00:00", "2024-04-02"])
    assert made.predict(asked).tolist() == by_text.tolist()
    done = run("predict", "-m", made.save(tmp_path / "m.json"), "2024-03-01T12:00:00", "2024-04-02", cwd=tmp_path)
    assert [float(line.split(",")[1]) for line in done.stdout.splitlines()] == by_text.tolist()
    with pytest.raises(TypeError, match="dates"):
        made.predict([45.0])


@pytest.mark.parametrize("call, kind, said", [
    (lambda: fitbp.fit([1, 2, 3], [1, 2], degree=1), ValueError, "x and y differ in length (3 and 2)"),
    (lambda: fitbp.fit([], [], degree=1), ValueError, "no points"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], degree=-1), ValueError, "degree= must be 'auto' or a whole number"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], degree=1.5), ValueError, "degree="),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], loss="l2"), ValueError, "loss= must be one of 'mse', 'mae', 'huber'"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], degree=1, fix={5: 1.0}), ValueError, "fix=: x^5 is beyond degree 1"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], fix=[0]), TypeError, "fix= is a dict"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], sigma=[1, 1, 1], weights=[1, 1, 1]), ValueError, "give one"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], absolute_sigma=True), ValueError, "absolute errors need σ: give sigma="),
    (lambda: fitbp.fit([1, 2, np.nan], [1, 2, 3], degree=1), ValueError, "x[2] is nan"),
    (lambda: fitbp.fit([1, 2, 3], [1, np.inf, 3], degree=1), ValueError, "y[1] is inf"),
    (lambda: fitbp.fit(["a", "b"], [1, 2]), TypeError, "x must be real numbers"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], x="t"), TypeError, "x= and y= name a DataFrame's columns"),
    (lambda: fitbp.fit([1, 2, 3]), TypeError, "needs y"),
    (lambda: fitbp.fit([1, 2, 3], [1, 2, 3], nan_policy="drop"), ValueError, "nan_policy= must be one of"),
    (lambda: fitbp.fit([0, 1, 2, 3], [1, 2, 2, 4], degree=1, sigma=[1, 0, 1, 1]), ValueError, "sigma[1] is 0.0"),
    (lambda: fitbp.fit([0, 1, 2, 3], [1, 2, 2, 4], degree=1, weights=[1, -1, 1, 1]), ValueError, "weights[1] is -1.0"),
    (lambda: fitbp.fit([0, 1, 2, 3], [1, 2, 2, 4], degree=1, weights=[1, 1e-20, 1, 1]), fitbp.FitbpError,
     "weights=: the weights span 1.0e+20"),
])
def test_bad_calls_are_refused_in_pythons_terms(call, kind, said):
    with pytest.raises(kind) as caught:
        call()
    assert said in str(caught.value) and "--" not in str(caught.value)


def test_nan_policy_omit_leaves_the_point_out(sine):
    x, y = sine
    holey = y.copy()
    holey[[3, 40]] = np.nan
    kept = np.isfinite(holey)
    omitted = fitbp.fit(x, holey, degree=4, nan_policy="omit")
    assert omitted.coef.tolist() == fitbp.fit(x[kept], y[kept], degree=4).coef.tolist()
    assert omitted.to_dict()["skipped_rows"] == 2


def test_select_scores_as_the_command_line(sine, tmp_path):
    x, y = sine
    done = run("select", "-", "--json", stdin=csv_of(x, y), cwd=tmp_path)
    table = json.loads(done.stdout)
    ours = fitbp.select(x, y)
    assert ours.chosen == table["chosen"] == fitbp.fit(x, y).degree
    assert [row["bic"] for row in ours.candidates] == pytest.approx([row["bic"] for row in table["candidates"]],
                                                                   rel=1e-12)


def test_plot_draws_on_the_callers_axes(sine):
    from matplotlib.figure import Figure

    x, y = sine
    ax = Figure().add_subplot()
    assert fitbp.fit(x, y, degree=5).plot(ax=ax, band="confidence") is ax
    assert any(line.get_label() == "degree 5 fit" for line in ax.lines) and ax.collections


def test_the_library_imports_no_matplotlib_until_it_draws():
    code = ("import fitbp, sys; fitbp.fit([0, 1, 2, 3], [1, 2, 2, 4], degree=1).summary(); "
            "print('matplotlib' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_zero_weights_and_infinite_sigma_leave_points_out_as_on_the_command_line(sine):
    x, y = sine
    w = np.ones_like(x)
    w[::4] = 0.0
    with_zeros = fitbp.fit(x, y, degree=3, weights=w)
    assert with_zeros.coef.tolist() == fitbp.fit(x[w > 0], y[w > 0], degree=3, weights=w[w > 0]).coef.tolist()
    assert with_zeros.to_dict()["weighted_points"] == int((w > 0).sum()) and with_zeros.n == x.size
    sigma = np.where(w > 0, 1.0, np.inf)
    assert fitbp.fit(x, y, degree=3, sigma=sigma).coef.tolist() == with_zeros.coef.tolist()


def test_the_docstrings_examples_run(monkeypatch):
    import doctest

    from fitbp import library

    monkeypatch.chdir(ROOT)
    failed, attempted = doctest.testmod(library, optionflags=doctest.ELLIPSIS)
    assert attempted >= 4 and failed == 0


@pytest.mark.parametrize("options, python, flags", [
    ({"sigma": [1.0] * 4, "weights": [1.0] * 4}, "sigma= and weights= say the same thing two ways",
     ["--sigma", "s", "--weights", "s"]),
    ({"sigma": [1.0] * 4, "loss": "huber"}, "sigma=, weights= and fix= are for loss='mse', not 'huber'",
     ["--sigma", "s", "--loss", "huber"]),
    ({"absolute_sigma": True}, "absolute errors need σ: give sigma= or weights=", ["--absolute-sigma"]),
])
def test_one_rule_between_options_said_in_each_vocabulary(options, python, flags, tmp_path):
    """The library states each rule once; Python hears keywords, the command line its flags."""
    with pytest.raises(ValueError, match=python.replace("(", r"\(")):
        fitbp.fit([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 2.0, 4.0], degree=1, **options)
    (tmp_path / "d.csv").write_text("x,y,s\n0,1,1\n1,2,1\n2,2,1\n3,4,1\n")
    done = run("fit", "d.csv", "-d", "1", *flags, "--no-save", cwd=tmp_path)
    said = python.replace("sigma=", "--sigma").replace("weights=", "--weights").replace("fix=", "--fix")
    said = said.replace("loss='mse'", "--loss mse").replace("'huber'", "huber")
    assert done.returncode == 2 and said in " ".join(done.stderr.split()), done.stderr



def flag(name):
    return "--" + name.replace("_", "-")


@pytest.mark.parametrize("options, python, said", [
    ({"scheduler": "tcp://h:8786"}, "scheduler=: is only for engine='dask'", "is only for --engine dask"),
    ({"engine": "dask", "scheduler": " "}, "scheduler=: needs an address, such as tcp://host:8786",
     "needs an address, such as tcp://host:8786"),
    ({"decimal": ",", "delimiter": "comma"}, "decimal=: a comma cannot be both the decimal mark and the delimiter",
     "a comma cannot be both the decimal mark and the delimiter"),
    ({"weights": " "}, "weights=: needs a column", "needs a column: a header name or a 1-based number"),
    ({"fixed": {5: 1.0}, "degree": 1}, "fix=: x^5 is beyond degree 1",
     "x^5 is beyond degree 1: raise the degree or do not fix it"),
    ({"fixed": {0: 0.0, 3: 1.0}, "max_degree": 2}, "max_degree=: degree 3 is the lowest that keeps the fix= terms",
     "degree 3 is the lowest that keeps the --fix terms and leaves one to fit"),
    ({"triangle": True, "loss": "huber"}, "triangle=: the triangle is the mse loss's rewrite; 'huber' needs every",
     "the triangle is the mse loss's rewrite; huber needs every residual"),
    ({"interval": "confidence", "sigma_new": 0.1}, "sigma_new=: a new point's σ is for interval='prediction'",
     "a new point's σ is for --interval prediction"),
])
def test_every_rule_between_options_is_the_librarys(options, python, said):
    """The rules the command line applies are check_options', each in both vocabularies (test_cli and the
    others check the command line's whole messages)."""
    from fitbp import library

    with pytest.raises(library.OptionError) as caught:
        library.check_options(**options)
    assert str(caught.value).startswith(python) and caught.value.said(flag) == said


def test_python_callers_meet_the_command_lines_rules(sine, tmp_path):
    from fitbp import library

    x, y = sine
    with pytest.raises(ValueError, match="sigma= and weights= say the same thing two ways"):
        fitbp.select(x, y, sigma=np.ones_like(x), weights=np.ones_like(x))
    with pytest.raises(ValueError, match="max_degree=: degree 3 is the lowest that keeps the fix= terms"):
        fitbp.select(x, y, fix={3: 1.0}, max_degree=2)
    (tmp_path / "d.csv").write_text("x;y\n0;1\n1;2\n2;4\n")
    with pytest.raises(ValueError, match="decimal=: a comma cannot be both the decimal mark and the delimiter"):
        fitbp.fit(tmp_path / "d.csv", decimal=",", delimiter=",")
    line = fitbp.fit(x, y, degree=1)
    for call in (line.predict, line.inverse):
        with pytest.raises(ValueError, match="sigma_new=: a new point's σ is for interval='prediction'"):
            call([0.5], sigma_new=0.1)
    with pytest.warns(library.OptionWarning) as warned:
        fitbp.fit(x, y, degree=1, delta=1.0, lr=0.1)
    assert [str(w.message) for w in warned] == ["delta= is huber's threshold and is ignored by loss='mse'",
                                                "lr= is ignored by optimizer='newton', which takes exact steps"]
    assert [w.said(flag) for w in library.ignored_options(loss="mae", optimizer="cg", delta=1.0, lr=0.1)] == [
        "--delta is huber's threshold and is ignored by --loss mae",
        "--lr is ignored by --optimizer cg, which takes exact steps"]

def test_datetime64_on_a_model_with_an_offset_is_the_utc_instant(tmp_path):
    """numpy's datetime64 has no offset: it is read as UTC, as the picture draws it, so 01:00 UTC and
    03:00+02:00 are one instant and one prediction."""
    cells = ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+02:00", "2024-04-01T12:00:00+02:00",
             "2024-04-02T12:00:00+02:00"]
    (tmp_path / "dst.csv").write_text("when,v\n" + "".join(f"{c},{v}\n" for c, v in zip(cells, [1, 2, 3.5, 3.7])))
    assert run("fit", "dst.csv", "-d", "1", "-q", cwd=tmp_path).returncode == 0
    loaded = fitbp.load(tmp_path / "fitbp.json")
    utc = np.array(["2024-03-31T01:00:00", "2024-04-02T09:30:00"], dtype="datetime64[s]")
    assert loaded.predict(utc).tolist() == loaded.predict(["2024-03-31T03:00:00+02:00",
                                                           "2024-04-02T11:30:00+02:00"]).tolist()
