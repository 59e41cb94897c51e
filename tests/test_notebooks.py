"""Notebooks run through a real Jupyter kernel (nbclient and ipykernel), as a reader
runs them: every cell without error, and every cell that draws a chart shows it, once."""

import ast
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _draws_a_chart(source: str) -> bool:
    """The cell ends with a call of one of ipsim's ``plot_*`` functions."""
    body = ast.parse(source).body
    last = body[-1] if body else None
    return (
        isinstance(last, ast.Expr)
        and isinstance(last.value, ast.Call)
        and isinstance(last.value.func, ast.Name)
        and last.value.func.id.startswith("plot_")
    )


def test_the_three_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == [
        "01-quickstart",
        "02-traditional-vs-dynamic",
        "03-capacity-planning",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_a_kernel_and_shows_each_chart(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    ).execute()
    charts = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, cell.source
        if _draws_a_chart(cell.source):
            assert len(images) == 1, (path.name, cell.source, [o.output_type for o in cell.outputs])
            charts += 1
        else:
            assert not images, cell.source
    assert charts >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
