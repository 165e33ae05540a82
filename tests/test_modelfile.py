"""The model file: complete or untouched, and checked when read back."""

import json
import os

import numpy as np
import pytest

from fitbp.fitting import modelfile
from fitbp.errors import FitbpError
from fitbp.sources.data import Points
from fitbp.fitting.model import Polynomial
from fitbp.fitting.trainer import fit_points


@pytest.fixture
def result(rng):
    x = rng.uniform(-1, 1, 50)
    return fit_points(Points(x, np.sin(x), source="s.csv"), 3)


def test_save_and_load_round_trip(result, tmp_path):
    path = tmp_path / "m.json"
    modelfile.save(result, path)
    document = modelfile.load(path)
    assert document["format_version"] == modelfile.FORMAT_VERSION
    assert document["loss_history"] == result.loss_history
    restored = Polynomial(tuple(document["taylor_coefficients"]), document["center"], document["scale"])
    assert restored == result.polynomial  # floats survive JSON exactly
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_failed_write_keeps_the_old_file(result, tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    path.write_text("old model\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(FitbpError, match="No space left on device"):
        modelfile.save(result, path)
    assert path.read_text() == "old model\n"
    assert list(tmp_path.iterdir()) == [path]


def test_interrupted_write_keeps_the_old_file(result, tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    path.write_text("old model\n")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        modelfile.save(result, path)
    assert path.read_text() == "old model\n"
    assert list(tmp_path.iterdir()) == [path]


def test_existing_permissions_are_kept(result, tmp_path):
    path = tmp_path / "m.json"
    path.write_text("{}")
    path.chmod(0o640)
    modelfile.save(result, path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_saving_into_a_missing_folder_is_an_error(result, tmp_path):
    with pytest.raises(FitbpError, match="m.json: cannot write"):
        modelfile.save(result, tmp_path / "no" / "m.json")


def test_dumps_is_strict_json():
    text = modelfile.dumps({"a": float("inf"), "b": [float("nan"), 1.5]})
    assert json.loads(text) == {"a": None, "b": [None, 1.5]}


def good_document():
    return {"format_version": 1, "degree": 1, "center": 0.0, "scale": 1.0, "taylor_coefficients": [1.0, 2.0]}


@pytest.mark.parametrize("content, message", [
    ('{"format_version": 1, "degree": 1, "cen', "invalid JSON"),
    ("not json at all", "invalid JSON"),
    ("[1, 2]", "no format_version"),
    (json.dumps({**good_document(), "format_version": 99}), "model format 99 is newer"),
    (json.dumps({**good_document(), "center": "zero"}), "'center' is missing or not a number"),
    (json.dumps({**good_document(), "taylor_coefficients": [1.0]}), "does not match the degree"),
    (json.dumps({**good_document(), "scale": 0.0}), "'scale' must be positive"),
])
def test_bad_model_files_are_refused(content, message, tmp_path):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(FitbpError, match=message):
        modelfile.load(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(FitbpError, match="no such model file"):
        modelfile.load(tmp_path / "none.json")
