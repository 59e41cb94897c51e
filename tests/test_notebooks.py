"""Notebooks run: their code cells execute in order without error (no Jupyter needed)."""

import json
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_cells_run(path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(path.parent)
    notebook = json.loads(path.read_text())
    namespace: dict = {"__name__": "__main__"}
    ran = 0
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}[{ran}]", "exec"), namespace)
            ran += 1
    assert ran >= 3
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_the_three_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == [
        "01-quickstart",
        "02-traditional-vs-dynamic",
        "03-capacity-planning",
    ]
