"""Dates and times as x: ISO 8601 cells to days (or seconds) since the first date's midnight, and back.

The reference is numpy's datetime64 arithmetic on the same instants (UTC for
times with an offset), and the fit of the same numbers written as a CSV.
"""

import calendar
import json

import numpy as np
import pytest

from helpers import run

from fitbp.sources import dates


def write(path, cells, y, header="when,v"):
    path.write_text(header + "\n" + "".join(f"{c},{v!r}\n" for c, v in zip(cells, np.asarray(y).tolist())))


def fitted(folder, name, *args):
    done = run("fit", name, *args, "--json", "--no-save", cwd=folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_dates_are_days_since_the_first_dates_midnight_and_fit_as_those_numbers(tmp_path):
    rng = np.random.default_rng(1)
    seconds = np.sort(rng.integers(0, 400 * 86400, 150))
    moments = np.datetime64("2024-01-05T00:00:00") + seconds.astype("timedelta64[s]")
    origin = moments[0].astype("datetime64[D]")  # the first date's midnight
    days = (moments - origin) / np.timedelta64(1, "D")  # numpy's reckoning
    y = 3 + 0.01 * days - 2e-5 * days ** 2 + rng.normal(0, 0.05, days.size)
    write(tmp_path / "d.csv", [str(m).replace("T", " ") for m in moments], y)  # the space form of ISO 8601
    write(tmp_path / "n.csv", [repr(d) for d in days.tolist()], y, header="days,v")
    by_date, by_number = fitted(tmp_path, "d.csv", "-d", "2"), fitted(tmp_path, "n.csv", "-d", "2")
    assert by_date["x_origin"] == f"{origin}T00:00:00" and by_date["x_unit"] == "days"
    assert np.allclose(by_date["coefficients"], by_number["coefficients"], rtol=1e-12, atol=0)
    assert by_date["x_range"] == [days.min(), days.max()]
    in_seconds = fitted(tmp_path, "d.csv", "-d", "2", "--time-unit", "s")
    first = (origin - np.datetime64("2024-01-05")) / np.timedelta64(1, "s")
    assert in_seconds["x_unit"] == "seconds"
    assert in_seconds["x_range"] == [float(seconds.min() - first), float(seconds.max() - first)]


def test_leap_days_and_summer_time(tmp_path):
    write(tmp_path / "leap.csv", ["2024-02-28", "2024-02-29", "2024-03-01", "2023-03-01"], [0.0, 1.0, 2.0, 3.0])
    leap = fitted(tmp_path, "leap.csv", "-d", "1")
    assert leap["x_range"] == [-364.0, 2.0]  # 2023-03-01 is 364 days before 2024-02-28: no 29 Feb 2023
    # With a UTC offset, times are instants: the night Europe/Berlin moves to summer time has 23 hours.
    aware = ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+02:00", "2024-04-01T12:00:00+02:00"]
    write(tmp_path / "dst.csv", aware, [1.0, 2.0, 3.5])
    utc = np.array(["2024-03-30T11:00", "2024-03-31T10:00", "2024-04-01T10:00"], dtype="datetime64[s]")
    expected = (utc - np.datetime64("2024-03-29T23:00", "s")) / np.timedelta64(1, "D")  # midnight at +01:00
    assert fitted(tmp_path, "dst.csv", "-d", "2")["x_range"] == [expected[0], expected[-1]]
    naive = ["2024-03-30T12:00:00", "2024-03-31T12:00:00", "2024-04-01T12:00:00"]  # the wall clock: whole days
    write(tmp_path / "wall.csv", naive, [1.0, 2.0, 3.5])
    assert fitted(tmp_path, "wall.csv", "-d", "2")["x_range"] == [0.5, 2.5]


@pytest.mark.parametrize("cells, line, said", [
    (["2024-01-05", "2024-01-06", "12.5"], 4, "'12.5' is not an ISO 8601 date (such as 2024-01-05): x here are dates"),
    (["1.5", "2.5", "2024-01-06"], 4, "'2024-01-06' is not a number (a date in a column of numbers"),
    (["2024-01-05T10:00:00+01:00", "2024-01-06T10:00:00"], 3, "has no UTC offset where the column's first has one"),
    (["2024-01-05", "2024-02-30"], 3, "'2024-02-30' is not a real date or time"),
    (["2024-01-05", ""], 3, "column 'when': empty cell"),
    (["2024-13-01", "2024-01-05"], 2, "written as an ISO 8601 date, but not a real date or time"),
    (["2024-01-05T10:00:00.0000004", "2024-01-05T10:00:01"], 2, "a time finer than a microsecond"),
])
def test_dates_mixed_with_other_things_are_an_error_with_the_line(tmp_path, cells, line, said):
    write(tmp_path / "d.csv", cells, np.arange(len(cells), dtype=float))
    done = run("fit", "d.csv", "-d", "1", "--no-save", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(f"error: d.csv:{line}: column "), done.stderr
    assert said in done.stderr and done.stderr.count("\n") == 1


def test_predict_speaks_dates_and_plot_draws_them(tmp_path):
    days = np.arange(0.0, 60.0)
    cells = [str(np.datetime64("2024-01-01") + np.timedelta64(int(d), "D")) for d in days]
    write(tmp_path / "d.csv", cells, 2.0 + 0.5 * days)
    assert run("fit", "d.csv", "-d", "1", "-q", cwd=tmp_path).returncode == 0
    model = json.loads((tmp_path / "fitbp.json").read_text())
    assert model["x_origin"] == "2024-01-01T00:00:00" and model["x_unit"] == "days"
    done = run("predict", "2024-01-11", "2024-01-11T12:00:00", cwd=tmp_path)
    rows = [line.split(",") for line in done.stdout.splitlines()]
    assert [r[0] for r in rows] == ["2024-01-11", "2024-01-11T12:00:00"] and done.stderr == ""
    assert [float(r[1]) for r in rows] == pytest.approx([7.0, 7.25], rel=1e-14)
    typed = run("predict", cwd=tmp_path, stdin="when\n2024-01-21\n")
    assert typed.stdout.startswith("2024-01-21,") and float(typed.stdout.split(",")[1]) == pytest.approx(12.0)
    ahead = run("predict", "2024-03-31", "--json", cwd=tmp_path)
    document = json.loads(ahead.stdout)
    assert document["points"][0]["x"] == "2024-03-31" and document["points"][0]["extrapolated"]
    assert document["points"][0]["y"] == pytest.approx(47.0)
    assert document["x_range"] == ["2024-01-01", "2024-02-29"] and "[2024-01-01, 2024-02-29]" in ahead.stderr
    back = run("predict", "--inverse", "7", cwd=tmp_path)
    assert back.stdout.startswith("7.0,2024-01-1") and len(back.stdout.splitlines()) == 1
    refused = run("predict", "12.5", cwd=tmp_path)
    assert refused.returncode == 1 and "this model's x are dates" in refused.stderr
    drawn = run("plot", "--band", "-o", "d.png", cwd=tmp_path)
    assert drawn.returncode == 0 and (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    table = run("fit", "d.csv", "-d", "1", "--no-save", cwd=tmp_path).stdout
    assert "x: days since 2024-01-01T00:00:00 (the first date's midnight)" in table


def test_plot_xlim_takes_dates_within_the_years_that_can_be_drawn(tmp_path):
    write(tmp_path / "d.csv", ["2024-01-01", "2024-02-01", "2024-03-01"], [1.0, 2.0, 2.5])
    assert run("fit", "d.csv", "-d", "1", "-q", cwd=tmp_path).returncode == 0
    drawn = run("plot", "--xlim", "2023-12-01", "2024-06-30", "--band", "-o", "p.png", cwd=tmp_path)
    assert drawn.returncode == 0 and (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    for bad in (["0", "3000000"], ["2024-06-30", "2023-12-01"], ["2024-01-01", "soon"]):
        done = run("plot", "--xlim", *bad, "-o", "p.png", cwd=tmp_path)
        assert done.returncode == 2 and "--xlim" in done.stderr, (bad, done.stderr)


def test_files_must_agree_on_dates_or_numbers(tmp_path):
    write(tmp_path / "a.csv", ["1.5", "2.5", "3.5"], [1.0, 2.0, 3.0], header="x,v")
    write(tmp_path / "b.csv", ["2024-01-01", "2024-01-02", "2024-01-03"], [1.0, 2.0, 3.0], header="x,v")
    done = run("fit", "a.csv", "b.csv", "-d", "1", "--no-save", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == (
        "error: b.csv: its x are dates where a.csv has numbers: the files must agree\n")


def test_predict_and_plot_xlim_take_dates_by_one_rule(tmp_path):
    """A number on a date model is refused by both: 45 could be days since the origin or a year."""
    write(tmp_path / "d.csv", ["2024-01-01", "2024-02-01", "2024-03-01"], [1.0, 2.0, 2.5])
    assert run("fit", "d.csv", "-d", "1", "-q", cwd=tmp_path).returncode == 0
    predicted = run("predict", "45", cwd=tmp_path)
    drawn = run("plot", "--xlim", "0", "100", "-o", "p.png", cwd=tmp_path)
    assert predicted.returncode == 1 and drawn.returncode == 2 and not (tmp_path / "p.png").exists()
    for done in (predicted, drawn):
        assert "'0'" in done.stderr or "'45'" in done.stderr
        assert "this model's x are dates: give them in ISO 8601" in done.stderr


def test_predict_prints_each_date_as_it_was_given(tmp_path):
    """Times at another offset than the model's come back as written, so the lines join the input."""
    aware = ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+02:00", "2024-04-01T12:00:00+02:00",
             "2024-04-02T12:00:00+02:00"]
    write(tmp_path / "dst.csv", aware, [1.0, 2.0, 3.5, 3.7])
    assert run("fit", "dst.csv", "-d", "1", "-q", cwd=tmp_path).returncode == 0
    asked = ["2024-03-31T03:00:00+02:00", "2024-04-01T05:00:00Z", "2024-03-31T01:30:00+00:00"]
    by_argument = run("predict", *asked, cwd=tmp_path)
    by_stdin = run("predict", cwd=tmp_path, stdin="when\n" + "".join(f"{a},ignored\n" for a in asked))
    as_json = run("predict", *asked, "--json", cwd=tmp_path)
    assert by_argument.returncode == by_stdin.returncode == as_json.returncode == 0, by_argument.stderr
    assert [line.split(",")[0] for line in by_argument.stdout.splitlines()] == asked
    assert by_stdin.stdout == by_argument.stdout
    assert [p["x"] for p in json.loads(as_json.stdout)["points"]] == asked
    # the same instants: 03:00 at +02:00 and 01:00 UTC... are predicted as such, whatever their offset
    same = run("predict", "2024-03-31T01:00:00Z", "2024-03-31T03:00:00+02:00", cwd=tmp_path).stdout.splitlines()
    assert same[0].split(",")[1] == same[1].split(",")[1]


def test_a_date_that_is_not_real_is_said_so_without_the_numbers_hint(tmp_path):
    """'2024-13-01' has the form of a date: predict says it is no real date, not that fitbp reads
    numbers only (true of a numeric model, not of this one) nor that it is not ISO 8601."""
    write(tmp_path / "d.csv", ["2024-01-01", "2024-02-01", "2024-03-01"], [1.0, 2.0, 2.5])
    assert run("fit", "d.csv", "-d", "1", "-q", cwd=tmp_path).returncode == 0
    piped = run("predict", cwd=tmp_path, stdin="when\n2024-01-15\n2024-13-01\n")
    argued = run("predict", "2024-02-30T10:00:00", cwd=tmp_path)
    assert piped.returncode == argued.returncode == 1 and piped.stdout == argued.stdout == ""
    assert piped.stderr == "error: <stdin>:3: '2024-13-01' is not a real date or time\n"
    assert argued.stderr == "error: argument '2024-02-30T10:00:00' is not a real date or time\n"


# ---------------------------------------------------------------- a column at once (fitbp.sources.stamps)

def some_cells(rng, count, years, time, separator, seconds, fraction, offset):
    """``count`` random ISO cells of one form: a date, or a date and a time (hh:mm, hh:mm:ss, with
    1 to 9 digits of a second, of which those past the sixth are 0) and an offset (Z, +hh:mm, +hhmm)."""
    cells = []
    for _ in range(count):
        year, month = int(rng.integers(*years)), int(rng.integers(1, 13))
        day = int(rng.integers(1, calendar.monthrange(year, month)[1] + 1))
        cell = f"{year:04d}-{month:02d}-{day:02d}"
        if time:
            cell += f"{separator}{int(rng.integers(24)):02d}:{int(rng.integers(60)):02d}"
            if seconds:
                cell += f":{int(rng.integers(60)):02d}"
                if fraction:
                    cell += "." + "".join(map(str, rng.integers(0, 10, min(fraction, 6)))) + "0" * (fraction - 6)
            if offset == "Z":
                cell += "Z"
            elif offset is not None:
                cell += f"{'+-'[int(rng.integers(2))]}{int(rng.integers(24)):02d}{offset}{int(rng.integers(60)):02d}"
        cells.append(cell)
    return cells


def at_once(axis, cells):
    return axis.column(np.array([cell.encode() for cell in cells]))


def test_a_column_read_at_once_is_its_cells_read_one_by_one():
    """Axis.column (numpy on the digits) against Axis.values (datetime, a cell at a time): the same float64s
    to the bit, in days and in seconds, on random dates and times of every plain form, leap days and
    offsets included; and taken at once whenever the numbers are exact in float64 (fractions of a second
    within 285 years of the origin, whole seconds anywhere in years 1 to 9999)."""
    rng = np.random.default_rng(21)
    taken = 0
    for trial in range(1500):
        time, fraction = bool(rng.random() < 0.85), int(rng.choice([0, 0, 1, 2, 3, 6, 7, 9]))
        form = dict(time=time, separator=str(rng.choice(["T", " "])), seconds=bool(rng.random() < 0.75),
                    fraction=fraction, offset=rng.choice([None, None, "Z", ":", ""]) if time else None)
        years = [(1990, 2040), (1900, 2100), (1, 10000)][trial % 3]
        cells = some_cells(rng, int(rng.integers(1, 60)), years, **form)
        for unit in ("d", "s"):
            axis = dates.Axis.starting(cells[0], unit)
            one_by_one, whole = axis.values(cells), at_once(axis, cells)
            exact = years != (1, 10000) or not (form["time"] and form["seconds"] and fraction)
            assert whole is not None or not exact, cells
            if whole is not None:
                taken += 1
                assert whole.tobytes() == one_by_one.tobytes(), (cells, whole - one_by_one)
    assert taken > 2500


def test_a_column_of_several_lengths_is_read_at_once_too():
    """datetime.isoformat() leaves out a fraction of 0, and a date alone is a shorter cell: one form a length."""
    rng = np.random.default_rng(3)
    moments = np.datetime64("2024-03-30T00:00:00", "us") + rng.integers(0, 3 * 86400 * 10**6, 500).astype(
        "timedelta64[us]")
    moments[::3] = moments[::3].astype("datetime64[s]")  # whole seconds: no fraction written
    cells = [m.item().isoformat() for m in moments]
    cells[5] = cells[5][:10]  # a date alone, at midnight
    assert len({len(c) for c in cells}) == 3
    axis = dates.Axis.starting(cells[0])
    assert at_once(axis, cells).tobytes() == axis.values(cells).tobytes()
    aware = [c + "+02:00" if len(c) > 10 else c + "T00:00+0200" for c in cells]
    axis = dates.Axis.starting(aware[0], "s")
    assert at_once(axis, aware).tobytes() == axis.values(aware).tobytes()


@pytest.mark.parametrize("odd", [
    "2024-13-01", "2024-00-10", "2024-02-30", "2023-02-29", "0000-01-01",  # no real date
    "2024-01-05T24:00:00", "2024-01-05T10:60:00", "2024-01-05T10:00:60",  # no real time
    "2024-01-05T10:00:00.0000001",  # finer than a microsecond
    "2024-01-05T10:00:00+01:00",  # an offset where the first has none
    "2024-01-05 10:00:00", " 2024-01-05T10:00:00", "2024-01-05T10:00:00 ",  # another separator, blanks
    "2024-1-05T10:00:00", "2024-01-05T10:00:0x", "12.5", "", "2024-01-05T10:00\0:00", "20240105T100000",
])
def test_a_cell_the_bulk_reading_is_unsure_of_leaves_the_column_to_the_cells(odd):
    cells = ["2024-01-05T10:00:00", "2024-01-06T11:30:00", odd, "2024-01-07T12:00:00"]
    assert at_once(dates.Axis.starting(cells[0]), cells) is None
    assert at_once(dates.Axis.starting(cells[0]), cells[:2] + cells[3:]) is not None


@pytest.mark.parametrize("odd", [
    "2024-01-05T10:00:00+01:60", "2024-01-05T10:00:00+00:99",  # datetime reads +01:60 as +02:00: its own way
    "2024-01-05T10:00:00+24:00", "2024-01-05T10:00:00*01:00", "2024-01-05T10:00:00",  # no offset, no UTC offset
    "2024-01-05T10:00:00+01:00:00", "2024-01-05T10:00:00z", "2024-01-05T10:00:00+1:00",
])
def test_an_offset_the_bulk_reading_is_unsure_of_leaves_the_column_to_the_cells(odd):
    cells = ["2024-01-05T10:00:00+01:00", "2024-01-06T11:30:00-05:00", odd, "2024-01-07T12:00:00+00:00"]
    assert at_once(dates.Axis.starting(cells[0]), cells) is None
    assert at_once(dates.Axis.starting(cells[0]), cells[:2] + cells[3:]) is not None


def test_offsets_are_instants_and_a_naive_column_is_the_wall_clock_at_once_too():
    """The night Europe/Berlin moves to summer time has 23 hours; by the wall clock, 24."""
    aware = ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+02:00", "2024-04-01T10:00:00+0000", "2024-04-02T10:00Z"]
    axis = dates.Axis.starting(aware[0])  # midnight at +01:00
    assert at_once(axis, aware).tolist() == axis.values(aware).tolist() == pytest.approx(
        [0.5, 1 + 11 / 24, 2 + 11 / 24, 3 + 11 / 24], rel=1e-15)
    naive = ["2024-03-30T12:00:00", "2024-03-31T12:00:00", "2024-04-01T12:00:00"]
    assert at_once(dates.Axis.starting(naive[0]), naive).tolist() == [0.5, 1.5, 2.5]
    assert at_once(axis, naive) is None and at_once(dates.Axis.starting(naive[0]), aware) is None


def test_a_file_of_many_blocks_is_read_at_once_held_or_streamed_and_a_bad_cell_named_at_its_line(tmp_path):
    """120,000 times with fractions and an offset: more than one 4 MiB block and than --memory 1MB.  The
    x the fit reports are the cells read one by one, to the bit, however the blocks are read; a bad cell
    deep in the file is the same error at the same line, with the points held or streamed."""
    rng = np.random.default_rng(8)
    moments = np.datetime64("2024-03-30T12:00:00", "us") + np.sort(rng.integers(0, 40 * 86400 * 10**6, 120_000)).astype(
        "timedelta64[us]")
    cells = [c + "+01:00" for c in np.datetime_as_string(moments, unit="us").tolist()]
    days = dates.Axis.starting(cells[0]).values(cells)
    write(tmp_path / "d.csv", cells, 2 + 0.1 * days + rng.normal(0, 0.01, days.size))
    fits = {}
    for name, args, env in [("held", [], None), ("streamed", ["--memory", "1MB"], None),
                            ("numpy", [], {"FITBP_CSV_PARSER": "numpy"}),
                            ("streamed numpy", ["--memory", "1MB"], {"FITBP_CSV_PARSER": "numpy"})]:
        done = run("fit", "d.csv", "-d", "1", "--json", "--no-save", *args, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        fits[name] = json.loads(done.stdout)
        assert fits[name]["x_range"] == [days[0], days[-1]] and fits[name]["n_points"] == days.size, name
    assert fits["streamed"]["engine"]["streamed"] and not fits["held"]["engine"].get("streamed")
    assert fits["numpy"]["coefficients"] == fits["held"]["coefficients"]
    assert np.allclose(fits["streamed"]["coefficients"], fits["held"]["coefficients"], rtol=1e-12, atol=0)
    for line, cell, said in [(100_002, "2024-04-31T10:00:00+01:00", "is not a real date or time"),
                             (110_000, cells[110_000 - 2][:-6], "has no UTC offset where the column's first has one")]:
        (tmp_path / "bad.csv").write_text("".join(
            row if number != line else f"{cell},1.0\n"
            for number, row in enumerate((tmp_path / "d.csv").read_text().splitlines(keepends=True), 1)))
        for args in ([], ["--memory", "1MB"]):
            done = run("fit", "bad.csv", "-d", "1", "--no-save", *args, cwd=tmp_path)
            start = f"error: bad.csv:{line}: column 'when': {cell!r} "
            assert done.returncode == 1 and done.stderr.startswith(start), (args, done.stderr)
            assert said in done.stderr and done.stderr.count("\n") == 1
