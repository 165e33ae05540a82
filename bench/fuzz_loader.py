"""Fuzz fitbp's readers with atheris, a coverage-guided fuzzer: anything but FitbpError is a bug.

Why: the loader and the model-file reader face whatever bytes people have
(spreadsheet exports, logs, other programs' output).  The promise is a
correct result or one FitbpError with a one-line message, never another
exception.  The fuzzer mutates a corpus of real CSVs and model files and
follows the code paths each input opens.

    pip install -e '.[fuzz]'
    python bench/fuzz_loader.py -max_total_time=300          # five minutes
    python bench/fuzz_loader.py -runs=200000 bench/fuzz-corpus

The first byte of each input picks the reader (CSV points, predict's x
values, the model file, or a whole fit); the rest is the file.  A crash
stops the run, prints the traceback and writes the input to crash-*.
"""

import io
import json
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import numpy as np

    from fitbp.fitting import modelfile
    from fitbp.errors import FitbpError
    from fitbp.sources.files import load_points
    from fitbp.sources.reader import load_x_values
    from fitbp.fitting.trainer import fit_points

MODEL = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name


def read_points(data):
    points = load_points("-", stdin=io.BytesIO(data))
    assert np.isfinite(points.x).all() and np.isfinite(points.y).all() and points.x.shape == points.y.shape


def read_x_values(data):
    assert np.isfinite(load_x_values("-", stdin=io.BytesIO(data))).all()


def read_model(data):
    with open(MODEL, "wb") as handle:
        handle.write(data)
    document = modelfile.load(MODEL)
    polynomial = modelfile.polynomial_of(document)
    polynomial(np.array([0.0, 1.0]))


def fit_whatever_loads(data):
    points = load_points("-", stdin=io.BytesIO(data))
    degree = min(3, np.unique(points.x).size - 1)
    result = fit_points(points, degree)
    json.dumps(result.summary())
    assert result.mse >= 0 or not np.isfinite(result.mse)


READERS = [read_points, read_x_values, read_model, fit_whatever_loads]


def one_input(data):
    if not data:
        return
    reader = READERS[data[0] % len(READERS)]
    try:
        reader(data[1:])
    except FitbpError as e:
        message = str(e)
        if not message or "\n" in message:
            raise AssertionError(f"FitbpError message is not one line: {message!r}") from e


def write_seed_corpus(folder):
    """Real inputs to start from: the sample data, a model file, odd but valid CSVs."""
    os.makedirs(folder, exist_ok=True)
    root = os.path.join(os.path.dirname(__file__), "..")
    seeds = {"model": json.dumps({"format_version": 1, "degree": 1, "center": 0.5, "scale": 2.0,
                                  "taylor_coefficients": [1.0, 2.0], "data": {"points": {"x": [1], "y": [2]}}})}
    for name in ("sine", "years"):
        with open(os.path.join(root, "sample_data", f"{name}.csv")) as handle:
            seeds[name] = "".join(handle.readlines()[:12])
    seeds["quoted"] = 'x;y;note\r\n"1,5";2;"a ""b"""\r\n# c\r\n3;4;x\r\n'
    seeds["spaces"] = "\ufeff  t   v\n  1   2e-300\n  3  -1e308\n"
    for index, (name, text) in enumerate(seeds.items()):
        for reader in range(len(READERS)):
            with open(os.path.join(folder, f"{name}-{reader}"), "wb") as handle:
                handle.write(bytes([reader]) + text.encode())


if __name__ == "__main__":
    corpus = os.path.join(os.path.dirname(__file__), "fuzz-corpus")
    if not any(not a.startswith("-") for a in sys.argv[1:]):
        write_seed_corpus(corpus)
        sys.argv.append(corpus)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
