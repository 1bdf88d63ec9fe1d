"""Figures are written like every other marl file: atomically, or not at all."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from marl.files import save_figure  # noqa: E402


def test_a_figure_is_written_in_the_format_its_suffix_names(tmp_path):
    figure, axis = plt.subplots()
    axis.plot([0, 1], [1, 0])
    path = save_figure(figure, tmp_path / "curve.png", dpi=50)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert not plt.fignum_exists(figure.number)


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "curve.nosuchformat"
    path.write_bytes(b"old")
    figure, _ = plt.subplots()
    with pytest.raises(ValueError):
        save_figure(figure, path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert not plt.fignum_exists(figure.number)
