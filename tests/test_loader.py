"""The CSV loader: the formats people have, and an exact error for everything else."""

import gzip
import io
import os

import numpy as np
import pytest

from fitbp.sources import decode
from fitbp.errors import FitbpError
from fitbp.sources.files import load_points


def write(tmp_path, content, name="points.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def load_text(tmp_path, content, **options):
    return load_points(write(tmp_path, content), **options)


GOOD = [
    ("header comma", "x,y\n1,2\n3,4\n"),
    ("no header", "1,2\n3,4\n"),
    ("tab", "x\ty\n1\t2\n3\t4\n"),
    ("semicolon", "x;y\n1;2\n3;4\n"),
    ("whitespace runs", "  x     y\n  1     2\n  3     4\n"),
    ("pipe", "x|y\n1|2\n3|4\n"),
    ("crlf", "x,y\r\n1,2\r\n3,4\r\n"),
    ("bom", "\ufeffx,y\n1,2\n3,4\n"),
    ("comments and blanks", "# made by hand\nx,y\n\n1,2\n# middle\n   \n3,4\n"),
    ("no final newline", "x,y\n1,2\n3,4"),
    ("quoted", 'x,y\n"1","2"\n"3",4\n'),
    ("spaces around", "x , y\n 1 , 2 \n3,4\n"),
    ("exponents", "x,y\n1e0,2E0\n3.0e+0,.4e1\n"),
]


@pytest.mark.parametrize("name, content", GOOD, ids=[g[0] for g in GOOD])
def test_formats_load_to_the_same_numbers(name, content, tmp_path):
    points = load_text(tmp_path, content)
    np.testing.assert_array_equal(points.x, [1.0, 3.0])
    np.testing.assert_array_equal(points.y, [2.0, 4.0])


def test_header_names_the_columns(tmp_path):
    points = load_text(tmp_path, "year,co2\n1950,280\n1951,281\n")
    assert (points.x_name, points.y_name) == ("year", "co2")


def test_columns_by_name_and_by_number(tmp_path):
    content = "a,b,c\n1,2,3\n4,5,6\n"
    by_name = load_text(tmp_path, content, x="c", y="a")
    by_number = load_text(tmp_path, content, x="3", y="1")
    for points in (by_name, by_number):
        np.testing.assert_array_equal(points.x, [3, 6])
        np.testing.assert_array_equal(points.y, [1, 4])


def test_gzip_is_read_transparently(tmp_path):
    path = write(tmp_path, gzip.compress(b"x,y\n1,2\n3,4\n"), "points.csv.gz")
    np.testing.assert_array_equal(load_points(path).y, [2, 4])


def test_standard_input(tmp_path):
    points = load_points("-", stdin=io.BytesIO(b"x,y\n1,2\n3,4\n"))
    assert points.source == "<stdin>"
    np.testing.assert_array_equal(points.x, [1, 3])


@pytest.mark.parametrize("delimiter", [";", "semicolon"])
def test_forced_delimiter(delimiter, tmp_path):
    # Sniffing would split on the comma; forcing ';' keeps "a,b" one header name.
    points = load_text(tmp_path, "a,b;c\n1;2\n3;4\n", delimiter=delimiter)
    assert (points.x_name, points.y_name) == ("a,b", "c")
    np.testing.assert_array_equal(points.y, [2, 4])
    assert "found 1 column" in error_of(tmp_path, "x,y\n1,2\n", delimiter="tab")


def test_utf16_with_bom(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n3,4\n".encode("utf-16"))
    np.testing.assert_array_equal(load_points(path).x, [1, 3])


def test_latin1_with_encoding_option(tmp_path):
    path = write(tmp_path, "temp °C,y\n1,2\n3,4\n".encode("latin-1"))
    with pytest.raises(FitbpError, match=r"points.csv:1: not UTF-8 text \(byte 0xb0\).*encoding='latin-1'"):
        load_points(path)  # a Python caller reads the option as the keyword it passes
    assert error_of(tmp_path, "temp °C,y\n1,2\n3,4\n".encode("latin-1")).endswith(
        "if it is Latin-1, pass --encoding latin-1")
    assert load_points(path, encoding="latin-1").x_name == "temp °C"


def test_large_clean_file_equals_numpy(tmp_path, rng):
    x, y = rng.normal(size=5000), rng.normal(size=5000) * 1e-7
    path = tmp_path / "big.csv"
    np.savetxt(path, np.c_[x, y], delimiter=",", header="x,y", comments="", fmt="%.17g")
    points = load_points(path)
    np.testing.assert_array_equal(points.x, x)
    np.testing.assert_array_equal(points.y, y)


def error_of(tmp_path, content, **options):
    """The message as the command line says it (its flags for the options it names)."""
    from fitbp.cli.console import flag

    with pytest.raises(FitbpError) as caught:
        load_text(tmp_path, content, **options)
    return caught.value.said(flag)


BAD = [
    ("empty", "", "points.csv: no data: the input is empty"),
    ("only comments", "# nothing\n\n", "points.csv: no data: only blank and comment lines"),
    ("header only", "x,y\n", "points.csv: no data rows after the header"),
    ("one column", "x\n1\n2\n", "points.csv:1: found 1 column"),
    ("ragged", "x,y\n1,2\n3,4\n5\n", "points.csv:4: expected 2 fields, found 1"),
    ("ragged long", "x,y\n1,2\n3,4,5\n", "points.csv:3: expected 2 fields, found 3"),
    ("not a number", "x,y\n1,2\n3,abc\n", "points.csv:3: column 'y': 'abc' is not a number"),
    ("not a number no header", "1,2\n3,4\nzz,4\n", "points.csv:3: column '1': 'zz' is not a number"),
    ("empty cell", "x,y\n1,2\n3,\n", "points.csv:3: column 'y': empty cell"),
    ("nan", "x,y\n1,2\nnan,4\n", "points.csv:3: column 'x': 'nan' is not a finite number"),
    ("inf", "x,y\n1,2\n3,-inf\n", "points.csv:3: column 'y': '-inf' is not a finite number"),
    ("line numbers count comments", "# c\nx,y\n\n1,2\n# c\n3,oops\n", "points.csv:6: column 'y'"),
    ("binary", b"\x00\x01\x02garbage\xff", "points.csv: binary data, not CSV text"),
    ("header wider than rows", "a,b,c\n1,2\n3,4\n", "points.csv:1: the header has 3 fields and the rows 2; if "
     "the delimiter is not what fitbp detected, pass --delimiter"),
    ("header of single-spaced names", "x y z\n1 2\n3 4\n", "points.csv:1: the header has 3 fields and the rows 2"),
]


@pytest.mark.parametrize("name, content, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_line_and_problem(name, content, message, tmp_path):
    assert message in error_of(tmp_path, content)


def test_skip_invalid_drops_and_counts(tmp_path):
    points = load_text(tmp_path, "x,y\n1,2\nnan,3\n4,abc\n5,6\n7,\n", skip_invalid=True)
    np.testing.assert_array_equal(points.x, [1, 5])
    assert points.skipped == 3
    assert points.first_skip == "at line 3: column 'x': 'nan' is not a finite number"


def test_skip_invalid_with_nothing_left(tmp_path):
    assert "no valid rows: all 2 had invalid values" in error_of(tmp_path, "x,y\nnan,1\n2,inf\n", skip_invalid=True)


@pytest.mark.parametrize("options, message", [
    ({"x": "z"}, "--x 'z': no such column (columns: x, y)"),
    ({"y": "3"}, "--y 3: column out of range, the data has 2 columns"),
    ({"y": "0"}, "--y 0: column out of range"),
    ({"delimiter": "@"}, "unknown delimiter '@'"),
    ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
])
def test_bad_column_and_option_choices(options, message, tmp_path):
    assert message in error_of(tmp_path, "x,y\n1,2\n3,4\n", **options)


@pytest.mark.parametrize("options, message", [
    ({"x": "z"}, "x='z': no such column (columns: x, y)"),
    ({"y": 3}, "y=3: column out of range, the data has 2 columns"),
    ({"sigma": "s"}, "sigma='s': no such column"),
])
def test_a_python_caller_reads_its_own_keywords(options, message, tmp_path):
    """fitbp.load(..., x='z') is told of x='z', not of a --x flag it never typed."""
    with pytest.raises(FitbpError) as caught:
        load_text(tmp_path, "x,y\n1,2\n3,4\n", **options)
    assert message in str(caught.value) and "--" not in str(caught.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FitbpError, match="nope.csv: no such file"):
        load_points(tmp_path / "nope.csv")
    with pytest.raises(FitbpError, match="is a directory"):
        load_points(tmp_path)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "x,y\n1,2\n")
    if os.geteuid() == 0:  # root reads every file: make the read fail as it would for a user
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(decode, "open", refuse, raising=False)
    else:
        path.chmod(0)
    with pytest.raises(FitbpError, match="points.csv: permission denied"):
        load_points(path)


def test_corrupt_gzip(tmp_path):
    path = write(tmp_path, gzip.compress(b"x,y\n1,2\n" * 100)[:30], "points.csv.gz")
    with pytest.raises(FitbpError, match="not a readable gzip file"):
        load_points(path)


@pytest.mark.parametrize("content", [
    "time (s)   temp C\n0.0   21.5\n1.0   22.0\n2.0   22.9\n",
    "time (s)\ttemp C\n0.0\t21.5\n1.0\t22.0\n2.0\t22.9\n",
    "  time (s)    temp C  \n  0.0   21.5\n  1.0   22.0\n  2.0   22.9\n",
])
def test_aligned_columns_with_spaces_in_their_names(content, tmp_path):
    points = load_text(tmp_path, content)
    assert (points.x_name, points.y_name) == ("time (s)", "temp C")
    np.testing.assert_array_equal(points.y, [21.5, 22.0, 22.9])
    assert load_text(tmp_path, content, y="temp C").y.tolist() == [21.5, 22.0, 22.9]
