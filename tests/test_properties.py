"""Property-based tests: any well-formed table loads back exactly; any bytes give a result or FitbpError."""

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitbp.errors import FitbpError
from fitbp.sources.files import load_points
from fitbp.sources.reader import load_x_values

finite = st.floats(allow_nan=False, allow_infinity=False)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ ", min_size=1, max_size=8).filter(lambda s: s.strip())


@st.composite
def tables(draw):
    """A CSV a person or a program might write, and the x and y it holds."""
    rows = draw(st.lists(st.tuples(finite, finite, finite), min_size=1, max_size=30))
    delimiter = draw(st.sampled_from([",", "\t", ";", "|", " "]))
    quoting = delimiter != " " and draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    x_column, y_column = draw(st.permutations([0, 1, 2]))[:2]
    lines = []
    if draw(st.booleans()):
        lines.append("# " + draw(st.text(alphabet="abc ,;\t|0123", max_size=20)))
    header = draw(st.one_of(st.none(), st.lists(names, min_size=3, max_size=3, unique=True)))
    if header:
        lines.append(delimiter.join(f'"{h}"' if quoting else h.replace(" ", "_") for h in header))
    for row in rows:
        cells = [repr(v) for v in row]
        if quoting:
            cells = [f'"{c}"' if draw(st.booleans()) else c for c in cells]
        lines.append(delimiter.join(cells) if delimiter != " " else "  ".join(cells))
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "   ", "# a comment"])))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    bom = "\ufeff" if draw(st.booleans()) else ""
    data = (bom + text).encode()
    expected_x = [row[x_column] for row in rows]
    expected_y = [row[y_column] for row in rows]
    return data, x_column, y_column, expected_x, expected_y


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_well_formed_tables_load_back_exactly(table):
    data, x_column, y_column, expected_x, expected_y = table
    points = load_points("-", x=str(x_column + 1), y=str(y_column + 1), stdin=io.BytesIO(data))
    np.testing.assert_array_equal(points.x, expected_x)
    np.testing.assert_array_equal(points.y, expected_y)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_points_or_a_fitbp_error(data):
    for read in (lambda: load_points("-", stdin=io.BytesIO(data)), lambda: load_x_values("-", stdin=io.BytesIO(data))):
        try:
            result = read()
        except FitbpError as e:
            assert str(e) and "\n" not in str(e)
            continue
        values = result.x if hasattr(result, "x") else result
        assert np.isfinite(values).all()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.,;\t -+eEnaif#\"\r\nxy", max_size=200))
def test_csv_like_text_gives_points_or_a_fitbp_error(text):
    try:
        points = load_points("-", stdin=io.BytesIO(text.encode()))
    except FitbpError as e:
        assert "\n" not in str(e)
        return
    assert points.x.shape == points.y.shape and np.isfinite(points.x).all() and np.isfinite(points.y).all()
