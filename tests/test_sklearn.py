"""fitbp.sklearn.PolynomialRegressor: scikit-learn's own estimator checks, and fitbp.fit's numbers.

scikit-learn's checks are run as scikit-learn runs them; those that fit X of several features fail
by design (fitbp fits y against one x) and are listed with the width of their X, which the tests
confirm is why each fails.  The rest must pass.  The estimator's numbers are fitbp.fit's, to the bit.
"""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks  # noqa: E402

import fitbp  # noqa: E402
import fitbp.sklearn  # noqa: E402
from fitbp.sklearn import PolynomialRegressor  # noqa: E402

from helpers import ROOT  # noqa: E402

SEVERAL_FEATURES = {
    "check_all_zero_sample_weights_error": 20, "check_dict_unchanged": 3, "check_dont_overwrite_parameters": 3,
    "check_dtype_object": 10, "check_estimators_dtypes": 5, "check_estimators_fit_returns_self": 2,
    "check_estimators_nan_inf": 3, "check_estimators_overwrite_params": 2, "check_estimators_pickle": 3,
    "check_f_contiguous_array_estimator": 3, "check_fit2d_1sample": 10, "check_fit2d_predict1d": 3,
    "check_fit_check_is_fitted": 2, "check_fit_idempotent": 2, "check_fit_score_takes_y": 3,
    "check_methods_sample_order_invariance": 3, "check_methods_subset_invariance": 3, "check_n_features_in": 2,
    "check_n_features_in_after_fitting": 4, "check_pipeline_consistency": 3, "check_positive_only_tag_during_fit": 4,
    "check_readonly_memmap_input": 2, "check_regressor_data_not_an_array": 10,
    "check_regressors_no_decision_function": 4, "check_regressors_int": 10, "check_regressors_train": 10,
    "check_sample_weight_equivalence_on_dense_data": 30, "check_sample_weights_list": 3,
    "check_sample_weights_not_an_array": 2, "check_sample_weights_not_overwritten": 2,
    "check_sample_weights_pandas_series": 2, "check_sample_weights_shape": 2, "check_supervised_y_2d": 3,
}
"""The checks whose X has more than one feature, and how many: PolynomialRegressor refuses such X."""

EXPECTED_FAILURES = {name: f"its X has {width} features; fitbp fits y against one x"
                     for name, width in SEVERAL_FEATURES.items()}


@parametrize_with_checks([PolynomialRegressor()], expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
                         xfail_strict=True)
def test_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


def causes(error):
    """The error and those it was raised from, outermost first."""
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array API checks, off by default
def test_each_expected_failure_is_its_several_features_and_nothing_else(monkeypatch):
    """Each listed check fails on its X's width, as its reason says; and if the estimator took X's first
    column instead, every one would pass but two, whose reasons are fitbp's own, named here."""
    failed = [r for r in check_estimator(PolynomialRegressor(), on_fail=None) if r["status"] == "failed"]
    assert {r["check_name"] for r in failed} == set(SEVERAL_FEATURES)
    for r in failed:
        said = [str(e) for e in causes(r["exception"])]
        width = SEVERAL_FEATURES[r["check_name"]]
        assert f"X has {width} features, but PolynomialRegressor fits y against one x" in said[-1], r["check_name"]

    monkeypatch.setattr(fitbp.sklearn, "_one_feature", lambda X: X[:, 0])
    failed = {r["check_name"] for r in check_estimator(PolynomialRegressor(), on_fail=None) if r["status"] == "failed"}
    assert failed == {
        "check_regressors_train",  # y depends on all 10 features: the first alone cannot score R² > 0.5
        # degree="auto" counts points by BIC; a weight is 1/σ², not a count
        "check_sample_weight_equivalence_on_dense_data",
    }


@pytest.fixture(scope="module")
def cubic():
    x, y = np.loadtxt(ROOT / "sample_data" / "cubic.csv", delimiter=",", skiprows=1).T
    return x, y


@pytest.mark.parametrize("degree", [3, 7, "auto"])
def test_predictions_and_coefficients_are_fitbp_fits_to_the_bit(cubic, degree):
    x, y = cubic
    model = PolynomialRegressor(degree=degree).fit(x.reshape(-1, 1), y)
    fit = fitbp.fit(x, y, degree=degree)
    new = np.linspace(-3.0, 3.0, 13)
    assert model.predict(new.reshape(-1, 1)).tolist() == fit.predict(new).tolist()
    assert model.coef_.tolist() == fit.coef.tolist()
    assert model.degree_ == fit.degree == model.fit_.degree
    assert model.score(x.reshape(-1, 1), y) == pytest.approx(fit.r2, rel=1e-12)


def test_sample_weight_is_fitbps_weights(cubic):
    x, y = cubic
    w = np.random.default_rng(0).uniform(0.5, 2.0, x.size)
    w[::10] = 0.0
    model = PolynomialRegressor(degree=3).fit(x.reshape(-1, 1), y, sample_weight=w)
    assert model.coef_.tolist() == fitbp.fit(x, y, degree=3, weights=w).coef.tolist()
    kept = w > 0  # a weight of 0 leaves the point out of the fit
    alone = PolynomialRegressor(degree=3).fit(x[kept].reshape(-1, 1), y[kept], sample_weight=w[kept])
    np.testing.assert_allclose(model.coef_, alone.coef_, rtol=1e-10)


def test_grid_search_over_degrees_picks_the_cubics_degree(cubic):
    x, y = cubic
    folds = KFold(5, shuffle=True, random_state=0)
    search = GridSearchCV(PolynomialRegressor(), {"degree": list(range(9))}, cv=folds).fit(x.reshape(-1, 1), y)
    assert search.best_params_ == {"degree": 3}
    assert search.best_estimator_.degree_ == 3 == fitbp.fit(x, y).degree  # as BIC chooses


def test_cross_val_score_is_each_folds_r2(cubic):
    x, y = cubic
    folds = KFold(4, shuffle=True, random_state=1)
    scores = cross_val_score(PolynomialRegressor(degree=3), x.reshape(-1, 1), y, cv=folds)
    by_hand = [r2_score(y[test], fitbp.fit(x[train], y[train], degree=3).predict(x[test]))
               for train, test in folds.split(x)]
    assert scores.tolist() == by_hand


def test_a_scaler_before_it_changes_no_prediction(cubic):
    """A polynomial of a scaled x is a polynomial of x: a Pipeline with a scaler predicts the same curve."""
    x, y = cubic
    X = x.reshape(-1, 1)
    pipeline = make_pipeline(StandardScaler(), PolynomialRegressor(degree=3)).fit(X, y)
    new = np.linspace(-2.5, 2.5, 11).reshape(-1, 1)
    np.testing.assert_allclose(pipeline.predict(new), PolynomialRegressor(degree=3).fit(X, y).predict(new),
                               rtol=1e-9, atol=1e-9)


def test_one_feature_only():
    x = np.arange(6.0)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        PolynomialRegressor(degree=1).fit(x, x)
    with pytest.raises(ValueError, match="X has 2 features, but PolynomialRegressor fits y against one x"):
        PolynomialRegressor(degree=1).fit(np.column_stack([x, x]), x)


def test_parameters_are_kept_as_given_and_checked_by_fit():
    model = PolynomialRegressor(degree="cubic", fix={0: 0.0})  # nothing checked yet, as scikit-learn requires
    assert model.get_params()["degree"] == "cubic"
    copy = clone(model.set_params(degree=2))
    assert copy.get_params() == model.get_params() and copy.fix is not model.fix
    with pytest.raises(ValueError, match="degree="):
        model.set_params(degree=-1).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 4.0])
    with pytest.raises(ValueError, match="sample_weight is for loss='mse'"):
        PolynomialRegressor(degree=1, loss="huber").fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 4.0], sample_weight=[1, 1, 1])


def test_a_dataframes_column_name_is_kept():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"t": [0.0, 1.0, 2.0, 3.0]})
    model = PolynomialRegressor(degree=1).fit(frame, [1.0, 3.0, 5.0, 7.0])
    assert model.feature_names_in_.tolist() == ["t"] and model.n_features_in_ == 1
    assert model.predict(pandas.DataFrame({"t": [4.0]})).round(9).tolist() == [9.0]


def test_neither_fitbp_nor_its_command_line_imports_scikit_learn():
    import subprocess
    import sys

    code = ("import sys, fitbp, fitbp.cli; fitbp.fit([0.0, 1.0, 2.0], [1.0, 2.0, 4.0], degree=1); "
            "print('sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"


def test_the_docstrings_example_runs():
    import doctest

    assert doctest.testmod(fitbp.sklearn).failed == 0


def test_the_basis_is_a_parameter_a_search_can_vary(cubic):
    """basis="chebyshev" gives the same predictions as the Taylor form, and GridSearchCV sets it."""
    x, y = cubic
    X = x.reshape(-1, 1)
    chebyshev = PolynomialRegressor(degree=3, basis="chebyshev").fit(X, y)
    assert chebyshev.fit_.basis == "chebyshev"
    np.testing.assert_allclose(chebyshev.predict(X), PolynomialRegressor(degree=3).fit(X, y).predict(X),
                               rtol=0, atol=1e-12 * np.max(np.abs(y)))
    search = GridSearchCV(PolynomialRegressor(degree=3), {"basis": ["taylor", "chebyshev"]}, cv=3).fit(X, y)
    assert search.best_estimator_.fit_.basis == search.best_params_["basis"]
