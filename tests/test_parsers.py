"""The loader's three readings of a block agree: pyarrow's parser (when installed),
numpy's, and the careful line-by-line one, down to the error line and the last bit.

The fast parsers only ever accept a block; whenever they refuse, the careful
reading decides.  So the property to hold is: whatever a fast parser accepts,
the careful reading gives bit for bit the same numbers, and any input, cut into
blocks anywhere, gives the same result or the same error.
"""

import datetime
import gzip
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fitbp.sources.table
from fitbp.sources import decode, files
from fitbp.cli.console import flag
from fitbp.errors import FitbpError

pyarrow = pytest.importorskip("pyarrow", reason="the optional fast parser is not installed")

READINGS = ("arrow", "numpy", "careful")


def read(data, reading, block=decode.BLOCK, **options):
    """load_points of ``data`` through one reading: (x, y, skipped, first_skip) or the error text."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decode, "BLOCK", block)
        patch.setattr(fitbp.sources.table, "ARROW_FROM", 0)  # every block, however small, goes to pyarrow
        if reading == "numpy":
            patch.setenv("FITBP_CSV_PARSER", "numpy")
        elif reading == "careful":
            patch.setattr(fitbp.sources.table.Table, "_fast", lambda self, data: None)
        else:
            patch.delenv("FITBP_CSV_PARSER", raising=False)
        try:
            points = files.load_points("-", stdin=io.BytesIO(data), **options)
        except FitbpError as e:
            return e.said(flag)  # as the command line says it
        return points.x.tobytes(), points.y.tobytes(), points.skipped, points.first_skip


def agree(data, **options):
    results = {reading: read(data, reading, **options) for reading in READINGS}
    assert results["arrow"] == results["careful"], data
    assert results["numpy"] == results["careful"], data
    return results["careful"]


CASES = [
    b"x,y\n1,2\n3,4\n",
    b"1,2\n3,4\n5,6",  # no header, no final newline
    b"x,y\r\n1,2\r\n3,4\r\n",
    b"x,y\n1,2\r3,4\n",  # a lone CR inside a line
    b"x,y\n1,2\n\n3,4\n",
    b"x,y\n1,2\n   \n3,4\n",
    b"x,y\n1,2\n# note\n3,4\n",
    b"x,y\n1,2\n3\n",
    b"x,y\n1,2\n3,4,5\n",
    b"x,y\n1,2\n3,\n",
    b"x,y\n1,2\n3,nan\n",
    b"x,y\n1,2\n3,inf\n",
    b"x,y\n1,2\n3,1e400\n",
    b"x,y\n1,2\n3,1_000\n",
    b'x,y\n1,2\n"3",4\n',
    b"x,y\n1, 2\n 3 ,4\n",
    b"x,y\n+1,-.5\n5.,1E-3\n",
    b"x,y\n1,2\n3,0x10\n",
    b"x,y\n1,2\n3,\xc3\xa9\n",
    b"x,y\n1,2\n3,\xff\n",
    b"x,y\n1,2\nabc,4\n5,\xff\n",  # a bad cell, then a byte that is not UTF-8: the first one counts
    b"x,y\n1,\xff\nabc,4\n",
    b"\xff,y\n1,2\n",
    b"x;y\n1,5;2\n3;4\n",
    b"x\ty\n1\t2\n3\t4\n",
    b"x y\n1  2\n3 4\n",
    b"a,b,c\n1,2,3\n4,5,6\n",
]


@pytest.mark.parametrize("data", CASES)
@pytest.mark.parametrize("skip_invalid", [False, True])
def test_every_reading_agrees_on_untidy_input(data, skip_invalid):
    agree(data, skip_invalid=skip_invalid)


@pytest.mark.parametrize("data", CASES)
def test_cutting_into_blocks_changes_nothing(data):
    whole = read(data, "careful")
    for block in (3, 8, 17):
        for reading in READINGS:
            assert read(data, reading, block=block) == whole, (block, reading)


def test_the_first_problem_in_the_file_is_reported_wherever_blocks_begin():
    assert agree(b"x,y\n1,2\nabc,4\n5,\xff\n").startswith("<stdin>:3: column 'x': 'abc' is not a number")
    assert agree(b"x,y\n1,\xff\nabc,4\n").startswith("<stdin>:2: not UTF-8 text (byte 0xff)")
    for block in (3, 9, 64):
        assert read(b"x,y\n1,2\nabc,4\n5,\xff\n", "careful", block=block).startswith("<stdin>:3:")


def test_line_numbers_are_counted_across_blocks():
    rows = [f"{i},{i * i}\n" for i in range(5000)]
    rows[3210] = "3210,oops\n"
    data = ("x,y\n" + "".join(rows)).encode()
    for reading in READINGS:
        message = read(data, reading, block=1000)
        assert message == "<stdin>:3212: column 'y': 'oops' is not a number (--skip-invalid drops such rows)"
    x, y, skipped, first_skip = agree(data, skip_invalid=True, block=1000)
    assert skipped == 1 and first_skip.startswith("at line 3212:")
    assert np.frombuffer(x).size == 4999


def test_columns_chosen_by_name_and_number():
    data = b"t,a,b\n1,2,3\n4,5,6\n"
    x, y, *_ = agree(data, x="b", y="1")
    assert np.frombuffer(x).tolist() == [3.0, 6.0] and np.frombuffer(y).tolist() == [1.0, 4.0]


def test_gzip_is_read_block_by_block():
    rows = "".join(f"{i / 7!r},{i / 3!r}\n" for i in range(20000))
    data = gzip.compress(("x,y\n" + rows).encode())
    x, y, *_ = agree(data, block=4096)
    assert np.frombuffer(x).tolist() == [i / 7 for i in range(20000)]


cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(width=32).map(lambda v: f"{v:.3e}"),
    st.integers(-10**20, 10**20).map(str),
    st.text(alphabet="0123456789.eE+-_ \tinfa", max_size=8),
)
row = st.lists(cell, min_size=1, max_size=3).map(",".join)
table = st.lists(row, min_size=1, max_size=12).map(lambda rows: "\n".join(["x,y", *rows]) + "\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table, st.booleans(), st.sampled_from([7, 64, decode.BLOCK]))
def test_random_tables_read_the_same_every_way(text, skip_invalid, block):
    agree(text.encode(), skip_invalid=skip_invalid, block=block)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=40))
def test_fast_parsers_round_trip_every_float(values):
    """Correct rounding: repr of any float64 reads back as that float64, through each parser."""
    text = "x,y\n" + "".join(f"{v!r},{w!r}\n" for v, w in zip(values, reversed(values)))
    x, y, *_ = agree(text.encode())
    assert np.frombuffer(x).tolist() == values


DECIMAL_COMMA_CASES = [
    b"x;y\n1,5;2,25\n-0,5;1e3\n,5;3,\n",
    b"x\ty\n1,5\t2\n3\t4,75\n",
    b"x y\n1,5  2\n3 4,0e-2\n",
    b"x;y\n1,5;2\n1.000,5;3\n",  # a '.' beside decimal commas: an error, never 1.0005 or 1000.5
    b"x;y\n1,5;2\n1,5,5;3\n",
    b"x;y\n1,5;2\nabc;3\n",
]


@pytest.mark.parametrize("data", DECIMAL_COMMA_CASES)
@pytest.mark.parametrize("skip_invalid", [False, True])
def test_decimal_commas_read_the_same_every_way(data, skip_invalid):
    agree(data, skip_invalid=skip_invalid, decimal=",")
    for block in (5, 11):
        for reading in READINGS:
            assert read(data, reading, block=block, decimal=",") == read(data, "careful", decimal=",")


def test_decimal_commas_are_the_numbers_with_points():
    x_values = np.linspace(-3, 3, 5000).tolist()
    y_values = np.sin(np.linspace(-3, 3, 5000)).tolist()
    with_commas = "x;y\n" + "".join(f"{v!r};{w!r}\n".replace(".", ",") for v, w in zip(x_values, y_values))
    x, y, *_ = agree(with_commas.encode(), decimal=",", block=4096)
    assert np.frombuffer(x).tolist() == x_values and np.frombuffer(y).tolist() == y_values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table, st.booleans(), st.sampled_from([7, 64, decode.BLOCK]))
def test_random_tables_with_decimal_commas_read_the_same_every_way(text, skip_invalid, block):
    swapped = text.replace(",", "\0").replace(".", ",").replace("\0", ";")  # 1.5,2 -> 1,5;2
    agree(swapped.encode(), skip_invalid=skip_invalid, block=block, decimal=",")


DATE_CASES = [
    b"when,y\n2024-01-05,1\n2024-01-06,2\n2024-02-29,3\n",
    b"when,y\n2024-01-05T10:00:00,1\n2024-01-05T10:00:01.5,2\n2024-01-05T10:00:02.250000,3\n",  # three lengths
    b"when,y\n2024-01-05 10:00,1\n2024-01-05 11:00,2\n",
    b"when,y\n2024-03-30T12:00:00+01:00,1\n2024-03-31T12:00:00+02:00,2\n2024-04-01T10:00:00Z,3\n",
    b"when,y\n2024-03-30T12:00:00+0100,1\n2024-03-31T12:00:00-0230,2\n",
    b"when,y\n2024-01-05T10:00:00.123456000,1\n2024-01-05T10:00:00.000001000,2\n",
    b"when,y\n2024-01-05T10:00:00.1234567,1\n",  # finer than a microsecond
    b"when,y\n2024-01-05T10:00:00+01:00,1\n2024-01-06T10:00:00,2\n",  # offset, then none
    b"when,y\n2024-01-05T10:00:00,1\n2024-01-06T10:00:00Z,2\n",
    b"when,y\n2024-01-05,1\n2024-02-30,2\n",
    b"when,y\n2024-01-05,1\n2024-01-06T24:00:00,2\n",
    b"when,y\n2024-01-05T10:00,1\n2024-01-05T10:00+01:60,2\n",  # datetime reads +01:60; an error, no mix
    b"when,y\n2024-01-05,1\n12.5,2\n",
    b"when,y\n2024-01-05,1\n,2\n",
    b"when,y\n2024-01-05,1\n2024-01-06,\n",
    b"when,y\n2024-01-05,1\n2024-01-06,nan\n",
    b"when,y\n2024-01-05,1\n2024-01-06,2,3\n",
    b"when,y\n2024-01-05,1\n 2024-01-06 ,2\n",
    b"when,y\n2024-01-05,1\n2024-01-06\x00,2\n",
    b"when,y\n2024-01-05,1\n2024-01-06T10:00:00.5,2\n",
    b"when,y\n2024-01-05,1\n2024-01-06,2\n\n# a note\n2024-01-07,3\n",
    b'when,y\n2024-01-05,1\n"2024-01-06",2\n',
    b"when,y\r\n2024-01-05,1\r\n2024-01-06,2\r\n",
    b"v,when,w\n1,2024-01-05,7\n2,2024-01-06,8\n",
    b"when\ty\n2024-01-05\t1\n2024-01-06\t2\n",
    b"when y\n2024-01-05 1\n2024-01-06 2\n",
    b"when,y\n0001-01-01T00:00:00,1\n9999-12-31T23:59:59.999999,2\n5000-06-15T12:00:00.5,3\n",  # beyond 2**53 µs
    b"when,y\n0001-01-01,1\n9999-12-31,2\n",
]


@pytest.mark.parametrize("data", DATE_CASES)
@pytest.mark.parametrize("skip_invalid", [False, True])
def test_dates_read_the_same_every_way(data, skip_invalid):
    """A column of dates read in bulk by pyarrow or numpy and stamps, or a cell at a time: the same days
    to the bit, or the same error at the same line; cut into blocks anywhere."""
    x = "when" if data.startswith(b"v,") else None
    agree(data, skip_invalid=skip_invalid, x=x)
    for block in (5, 23, 64):  # (a NUL past the first block is no longer binary data to the decoder)
        careful = read(data, "careful", block=block, skip_invalid=skip_invalid, x=x)
        for reading in ("arrow", "numpy"):
            assert read(data, reading, block=block, skip_invalid=skip_invalid, x=x) == careful, (block, reading)


def test_dates_are_read_at_once_when_they_can_be(monkeypatch):
    """Not by the careful reading: a block of plain dates is read without a look at each cell."""
    data = ("when,y\n" + "".join(f"2024-01-{d:02d}T10:{d:02d}:00,{d}\n" for d in range(1, 29))).encode()
    careful = read(data, "careful")
    for reading in ("arrow", "numpy"):
        with monkeypatch.context() as patch:
            patch.setattr(fitbp.sources.table.Table, "_careful", lambda self, block: pytest.fail("read cell by cell"))
            assert read(data, reading) == careful
    assert np.frombuffer(careful[0]).tolist() == pytest.approx([d - 1 + 10 / 24 + d / 1440 for d in range(1, 29)])


def test_a_bad_date_is_named_at_its_line_across_blocks():
    rows = [f"2024-01-01T00:00:00.{i:06d},{i}\n" for i in range(5000)]
    rows[3210] = "2024-01-01T00:00:00.321000001,3210\n"
    data = ("when,y\n" + "".join(rows)).encode()
    for reading in READINGS:
        assert read(data, reading, block=1000) == (
            "<stdin>:3212: column 'when': '2024-01-01T00:00:00.321000001' is a time finer than a microsecond, "
            "which fitbp's times cannot hold (--skip-invalid drops such rows)")
    x, y, skipped, first_skip = agree(data, skip_invalid=True, block=1000)
    assert skipped == 1 and first_skip.startswith("at line 3212:") and np.frombuffer(x).size == 4999


@st.composite
def date_tables(draw):
    """A CSV of dates in one random form, now and then a cell of another form, an odd one or a bad one."""
    form = draw(st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
                                 "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "isoformat"]))
    zone = draw(st.sampled_from([None, datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=5.5)),
                                 datetime.timezone(-datetime.timedelta(hours=8))]))
    moments = draw(st.lists(st.datetimes(min_value=datetime.datetime(1800, 1, 1),
                                         max_value=datetime.datetime(2200, 1, 1)), min_size=1, max_size=12))
    odd = st.sampled_from(["2024-02-30", "2024-01-05T10:00:00.0000001", "2024-01-05T10:00", "2024-01-05T10:00Z",
                           "12.5", "", " 2024-01-05", "2024-01-05T24:00", "2024-01-05T10:00+05:60"])
    separator = draw(st.sampled_from("T "))
    cells = []
    for moment in moments:
        moment = moment.replace(tzinfo=zone)
        cell = moment.isoformat(separator) if form == "isoformat" else moment.strftime(
            form if zone or "%z" not in form else form[:-2])
        cells.append(draw(odd) if draw(st.integers(0, 15)) == 0 else cell)
    ys = draw(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=len(cells), max_size=len(cells)))
    return ("when,y\n" + "".join(f"{c},{y!r}\n" for c, y in zip(cells, ys))).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(date_tables(), st.booleans(), st.sampled_from([7, 64, decode.BLOCK]), st.sampled_from(["d", "s"]))
def test_random_dates_read_the_same_every_way(data, skip_invalid, block, unit):
    for reading in ("arrow", "numpy"):
        assert read(data, reading, block=block, skip_invalid=skip_invalid, time_unit=unit) == read(
            data, "careful", block=block, skip_invalid=skip_invalid, time_unit=unit), reading
