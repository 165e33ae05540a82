"""plot, predict and sample, alone and chained in real shell pipelines."""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import FITBP, SINE, environment, run, run_in_terminal, shell

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def model(tmp_path):
    """A model of the sine sample, saved as fitbp.json in the test's folder."""
    done = run("fit", SINE, "-d", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / "fitbp.json"


def test_sample_prints_csv_that_fits_back(tmp_path):
    done = run("sample", "cubic", "--n", "400", "--noise", "0", "--seed", "3", cwd=tmp_path)
    lines = done.stdout.splitlines()
    assert lines[0] == "x,y" and len(lines) == 401
    data = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    assert np.all(np.diff(data[:, 0]) >= 0)
    np.testing.assert_allclose(data[:, 1], data[:, 0] ** 3 - 2 * data[:, 0] ** 2 - data[:, 0] + 2, atol=1e-12)
    again = run("sample", "cubic", "--n", "400", "--noise", "0", "--seed", "3", cwd=tmp_path)
    assert again.stdout == done.stdout


@pytest.mark.parametrize("name", ["sine", "cubic", "runge", "exp", "years"])
def test_every_sample_loads_and_fits(name, tmp_path):
    done = shell(f"fitbp sample {name} --seed 1 | fitbp fit - -d 3 --json --no-save", tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_points"] == (71 if name == "years" else 200)


def test_years_sample_spans_1950_to_2020(tmp_path):
    lines = run("sample", "years", cwd=tmp_path).stdout.splitlines()[1:]
    years = [float(line.split(",")[0]) for line in lines]
    assert years == list(range(1950, 2021))


@pytest.mark.parametrize("options, status", [
    (["nope"], 2), (["sine", "--n", "0"], 2), (["sine", "--noise", "-1"], 2),
    (["sine", "--xmin", "3", "--xmax", "1"], 1),
])
def test_sample_errors(options, status, tmp_path):
    done = run("sample", *options, cwd=tmp_path)
    assert done.returncode == status and "Traceback" not in done.stderr and done.stdout == ""


def test_pipeline_fit_json_into_jq(tmp_path):
    reader = "jq .r2" if shutil.which("jq") else "python -c 'import json,sys; print(json.load(sys.stdin)[\"r2\"])'"
    done = shell(f"set -o pipefail; fitbp sample sine --n 500 --seed 1 | fitbp fit - --degree 5 --json | {reader}",
                 tmp_path)
    assert done.returncode == 0, done.stderr
    assert 0.9 < float(done.stdout) <= 1.0


def test_predict_from_seq_agrees_with_numpy(model, tmp_path):
    done = shell("seq 0 0.5 6 | fitbp predict", tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.splitlines()]
    x = np.array([float(r[0]) for r in rows])
    y = np.array([float(r[1]) for r in rows])
    np.testing.assert_array_equal(x, np.arange(0, 6.01, 0.5))
    document = json.loads(model.read_text())
    taylor = np.polynomial.Polynomial(document["taylor_coefficients"],
                                      domain=[document["center"] - document["scale"],
                                              document["center"] + document["scale"]], window=[-1, 1])
    np.testing.assert_allclose(y, taylor(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, np.polynomial.Polynomial(document["coefficients"])(x), rtol=1e-9, atol=1e-9)


def test_predict_arguments_csv_columns_and_round_trip(model, tmp_path):
    done = run("predict", "0.1", "-2", "1e-3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[0] for line in done.stdout.splitlines()] == ["0.1", "-2.0", "0.001"]
    from_csv = run("predict", cwd=tmp_path, stdin="x,y\n0.1,5\n\n# note\n-2,7\n0.001,1\n")
    assert from_csv.stdout == done.stdout
    for line in done.stdout.splitlines():  # every y reads back to the float that was computed
        value = line.split(",")[1]
        assert repr(float(value)) == value


def test_predict_reports_the_bad_line(model, tmp_path):
    done = run("predict", cwd=tmp_path, stdin="1\n2\nthree\n")
    assert done.returncode == 1
    assert done.stderr == "error: <stdin>:3: 'three' is not a number\n"
    assert run("predict", "1", "x", cwd=tmp_path).stderr == "error: argument 2: 'x' is not a number\n"
    assert run("predict", "--bogus", cwd=tmp_path).returncode == 2


def test_predict_and_plot_need_a_good_model(tmp_path):
    for command in (["predict", "1"], ["plot"]):
        done = run(*command, cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr == "error: fitbp.json: no such model file (run 'fitbp fit' first)\n"
    (tmp_path / "fitbp.json").write_text('{"format_version": 7}')
    done = run("plot", cwd=tmp_path)
    assert done.returncode == 1 and "newer than this fitbp reads" in done.stderr
    (tmp_path / "fitbp.json").write_text('{"format_ver')
    done = run("predict", "1", cwd=tmp_path)
    assert done.returncode == 1 and "invalid JSON" in done.stderr
    assert not (tmp_path / "fitbp.png").exists()


@pytest.mark.parametrize("extension, signature", [("png", PNG), ("svg", b"<?xml"), ("pdf", b"%PDF-")])
def test_plot_writes_the_format_of_its_extension(extension, signature, model, tmp_path):
    done = run("plot", "-o", f"fit.{extension}", "--residuals", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"fit.{extension}").read_bytes().startswith(signature)


def test_plot_headless_from_another_folder(model, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run("plot", "-m", model, cwd=elsewhere, env={"DISPLAY": ""})
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "fitbp.png").read_bytes().startswith(PNG)


def test_plot_after_fitting_standard_input(tmp_path):
    done = shell("fitbp sample runge --seed 2 | fitbp fit - -d 8 -q && fitbp plot -o runge.png", tmp_path)
    assert done.returncode == 0, done.stderr
    kept = json.loads((tmp_path / "fitbp.json").read_text())["data"]["points"]
    assert len(kept["x"]) == 200
    assert (tmp_path / "runge.png").read_bytes().startswith(PNG)


def test_plot_data_override_and_bad_extension(model, tmp_path):
    (tmp_path / "other.csv").write_text("x,y\n0,0\n1,1\n2,0\n")
    assert run("plot", "--data", "other.csv", cwd=tmp_path).returncode == 0
    done = run("plot", "-o", "fit.bmp", cwd=tmp_path)
    assert done.returncode == 1 and "cannot tell the picture format from '.bmp'" in done.stderr
    assert run("plot", "-o", "fit.jpg", cwd=tmp_path).returncode == 0  # matplotlib writes JPEG: so does fitbp
    assert (tmp_path / "fit.jpg").read_bytes().startswith(b"\xff\xd8\xff")


def test_plot_when_the_data_file_is_gone(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n0,0\n1,1\n2,0\n3,2\n")
    assert run("fit", "d.csv", "-d", "1", cwd=tmp_path).returncode == 0
    (tmp_path / "d.csv").unlink()
    done = run("plot", cwd=tmp_path)
    assert done.returncode == 1 and "d.csv: no such file" in done.stderr and "--data" in done.stderr


def test_show_without_a_display_still_saves(model, tmp_path):
    done = run("plot", "--show", cwd=tmp_path, env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert done.returncode == 0
    assert "--show needs a working display" in done.stderr
    assert (tmp_path / "fitbp.png").exists()


@pytest.mark.parametrize("command", [["fit", SINE, "-d", "3", "--no-save"], ["predict", "1"], ["sample", "sine"],
                                     ["--help"]])
def test_commands_that_do_not_draw_never_import_matplotlib(command, model, tmp_path):
    done = subprocess.run([*FITBP[:1], "-X", "importtime", *FITBP[1:], *map(str, command)], cwd=tmp_path,
                          capture_output=True, text=True, env=environment())
    assert done.returncode == 0
    assert ("numpy" in done.stderr) == (command != ["--help"])  # help starts without numpy
    assert "matplotlib" not in done.stderr and "sklearn" not in done.stderr
    assert " dask" not in done.stderr and "distributed" not in done.stderr  # only --engine dask imports them
    assert "pydantic" not in done.stderr  # typer's coercion of well-formed options, done without it (cli.coercion)


def test_head_ends_the_pipe_quietly(tmp_path):
    done = shell("fitbp sample sine --n 300000 | head -n 3", tmp_path)
    assert done.stdout.splitlines()[0] == "x,y" and len(done.stdout.splitlines()) == 3
    assert done.stderr == ""


@pytest.fixture
def big_csv(tmp_path):
    done = run("sample", "sine", "--n", "200000", cwd=tmp_path)
    path = tmp_path / "big.csv"
    path.write_text(done.stdout)
    return path


def _as_at_a_terminal():
    """Ctrl-C's default action in the child, as a shell at a terminal gives it.

    A job that a script starts in the background (CI's runners do) inherits SIGINT ignored, and
    Python, like every well-behaved program, then keeps ignoring it: the fit would run to the end.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig, status, word", [(signal.SIGINT, 130, "interrupted"),
                                               (signal.SIGTERM, 143, "terminated")])
def test_signals_end_with_one_line_and_keep_the_model(sig, status, word, big_csv, tmp_path):
    """The signal comes while fitbp is certain to be at work: reading a pipe the test keeps open.

    Writing more than a pipe holds returns only once fitbp has read most of it, so fitbp is past its
    start-up (its handlers are in) and in the loader; without end of input it cannot finish, however
    fast the machine.
    """
    (tmp_path / "fitbp.json").write_text("previous model")
    process = subprocess.Popen([*FITBP, "fit", "-", "-d", "5"], cwd=tmp_path, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
                               preexec_fn=_as_at_a_terminal)
    data = big_csv.read_bytes()
    assert len(data) > 16 * 65536  # far more than a pipe's buffer
    process.stdin.write(data)
    process.stdin.flush()
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert err.decode() == f"error: {word}\n" and out == b""
    assert (tmp_path / "fitbp.json").read_text() == "previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "fitbp.json"]


def test_interrupt_during_training_keeps_the_model(tmp_path, monkeypatch):
    """Ctrl-C in the middle of training (raised at a chosen epoch, not after a guessed delay)."""
    from fitbp import cli
    from fitbp.fitting import trainer

    (tmp_path / "fitbp.json").write_text("previous model")
    monkeypatch.chdir(tmp_path)
    epochs = []

    def interrupt_at_epoch_5(epoch, loss):
        epochs.append(epoch)
        if epoch == 5:
            raise KeyboardInterrupt

    real_fit = trainer.fit_points
    monkeypatch.setattr(trainer, "fit_points",
                        lambda *a, **k: real_fit(*a, **{**k, "on_epoch": interrupt_at_epoch_5}))
    with pytest.raises(SystemExit) as ended:
        cli.app(["fit", str(SINE), "-d", "5", "--optimizer", "gd"], standalone_mode=True)
    assert ended.value.code == 130 and epochs == [1, 2, 3, 4, 5]
    assert (tmp_path / "fitbp.json").read_text() == "previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fitbp.json"]


def test_progress_bar_never_in_a_pipe_nor_when_quiet(big_csv, tmp_path):
    """The negative half of the bar's rule, which holds however fast the machine trains."""
    args = ["fit", big_csv, "-d", "10", "--optimizer", "gd", "--epochs", "40000", "--no-save"]
    bar = "/40000"  # the bar's epoch counter, e.g. "121/40000"
    quiet, _ = run_in_terminal([*args, "--quiet"], tmp_path, stderr_too=True)
    assert bar not in quiet and "MSE" in quiet
    piped = run(*args, cwd=tmp_path)
    assert bar not in piped.stderr and "without converging" in piped.stderr


def test_progress_bar_once_training_outlasts_half_a_second(monkeypatch, capsys):
    """The positive half, on a clock the test moves: no real training is fast or slow enough to matter."""
    from fitbp.views import report

    now = [100.0]
    monkeypatch.setattr(report.time, "perf_counter", lambda: now[0])
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    with report.training_progress(40000, enabled=True) as on_epoch:
        on_epoch(1, 0.5)
        assert capsys.readouterr().err == ""  # not yet: a short fit never shows a bar
        now[0] += 0.6
        on_epoch(121, 0.25)
        on_epoch(122, 0.125)
    shown = capsys.readouterr().err
    assert "/40000" in shown and "epochs" in shown and "loss 0.125" in shown


def test_reading_shows_a_bar_over_the_bytes_of_all_files_once_it_outlasts_half_a_second(monkeypatch, capsys,
                                                                                         tmp_path):
    """The bar counts the bytes of every file together, as stored; the clock is the test's, as above."""
    from fitbp.sources.files import Files
    from fitbp.views import report

    sizes = []
    for i in range(3):
        rows = "".join(f"{v},{2 * v}\n" for v in range(i * 40000, (i + 1) * 40000))
        (tmp_path / f"p{i}.csv").write_text("x,y\n" + rows)
        sizes.append((tmp_path / f"p{i}.csv").stat().st_size)
    inputs = Files(sorted(str(p) for p in tmp_path.glob("p*.csv")))
    seen = []
    now = [100.0]
    monkeypatch.setattr(report.time, "perf_counter", lambda: now[0])
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    with report.reading_progress(inputs.bytes(), enabled=True) as on_read:
        inputs.on_read = lambda done, total: (seen.append((done, total)), on_read(done, total))
        blocks = inputs.blocks()
        next(blocks)
        assert capsys.readouterr().err == ""
        now[0] += 0.6
        rows = sum(bx.size for bx, _ in blocks)
    shown = capsys.readouterr().err
    assert "reading" in shown and ("MB" in shown or "kB" in shown)
    assert rows > 0 and all(total == sum(sizes) for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == sum(sizes) and done[0] <= sizes[0]


@pytest.mark.parametrize("args, typed, shown", [
    (["predict"], b"1.5\n2\n", "reading x values, one a line from the terminal"),
    (["fit", "-", "-d", "1", "--no-save", "--json"], b"x,y\n0,1\n1,3\n2,5\n", "reading x,y lines"),
])
def test_a_person_at_a_terminal_is_told_and_one_ctrl_d_ends(args, typed, shown, model, tmp_path):
    """stdin on a pseudo-terminal: fitbp says what it reads, and the first Ctrl-D at the start of a line
    ends the input (the test waits for fitbp to end, which it would not do if it wanted a second)."""
    import os
    import pty

    main, child = pty.openpty()
    process = subprocess.Popen([*FITBP, *args], cwd=tmp_path, stdin=child, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=environment())
    os.close(child)
    os.write(main, typed)
    os.write(main, b"\x04")  # one Ctrl-D, at the start of a line
    out, err = process.communicate(timeout=60)
    os.close(main)
    assert process.returncode == 0, err
    assert shown in err.decode() and "Ctrl-D" in err.decode()
    if args[0] == "predict":
        assert [line.split(",")[0] for line in out.decode().splitlines()] == ["1.5", "2.0"]
    else:
        assert json.loads(out)["n_points"] == 3


def test_no_prompt_when_input_comes_from_a_pipe(model, tmp_path):
    assert "reading" not in run("predict", cwd=tmp_path, stdin="1\n").stderr


def test_command_modules_keep_their_annotations_as_objects():
    """typer reads every command's annotations at start; as strings (postponed annotations) it must
    evaluate them first, which cost --help about 5 % (bench/run.py --parts start)."""
    from fitbp import cli

    for command in cli.COMMANDS:
        source = Path(sys.modules[command.__module__].__file__).read_text()
        assert "\nfrom __future__ import annotations" not in source, command.__module__
