"""``ipsim report``: one self-contained HTML page per results folder, checked as a reader
sees it, in a real headless Chromium (Debian's, driven by Playwright; ``make test``
installs it)."""

import io
import re
import shutil

import pytest
import yaml
from click.testing import CliRunner

import simulator
from simulator.cli import cli
from simulator.experiments.plan import plan
from simulator.results.report import render_report

from conftest import make_scenario

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    # Too small a pod subnet: a FAIL with reasons, refusals and waiting pods.
    doc = make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/26")
    doc["timeline"] = [{"at": "2m", "scale_workload": {"workload": "web", "replicas": 70}}]
    run = simulator.run(doc).save(base / "run", report=True)
    path = base / "s.yaml"
    path.write_text(yaml.safe_dump(make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/22")))
    planned = plan(path, subnets=["podsubnet"]).save(base / "plan")
    return {"run": run, "plan": planned}


def test_the_page_is_self_contained_and_escaped(folders):
    page = (folders["run"] / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    # Nothing fetched from elsewhere: every image inline, no script or stylesheet links.
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert page.count('src="data:image/png;base64,') == 2
    assert 'id="verdict" class="verdict FAIL"' in page
    assert "pods waited longer than 60 s for an address" in page
    assert "Timeline of events" in page and "subnet_full" in page


def test_report_command_and_its_errors(folders, tmp_path):
    target = tmp_path / "plan.html"
    done = CliRunner().invoke(cli, ["report", str(folders["plan"]), "-o", str(target)])
    assert done.exit_code == 0, done.output
    assert done.output == f"plan report written to {target}\n"
    assert "smallest passing 10.241.0.0/25" in target.read_text()
    again = CliRunner().invoke(cli, ["report", str(folders["plan"]), "-o", str(target)])
    assert again.exit_code == 2 and "use --force" in again.output
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: x\n")
    done = CliRunner().invoke(cli, ["report", str(scenario)])
    assert done.exit_code == 2
    assert "is a scenario file, not a results folder; run it first" in done.output


def test_reports_load_in_a_real_browser(folders, tmp_path):
    assert shutil.which(CHROMIUM), "Chromium is missing: make test installs it (apt-get)"
    from matplotlib.image import imread
    from playwright.sync_api import sync_playwright

    (folders["plan"] / "report.html").write_text(render_report(folders["plan"]))
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=FLAGS, headless=True,
            viewport={"width": 1200, "height": 900},
        )  # fmt: skip
        try:
            for name, charts, word in (("run", 2, "FAIL"), ("plan", 1, "PASS")):
                page = browser.new_page()
                problems = []
                page.on("console", lambda m, p=problems: m.type == "error" and p.append(m.text))
                page.on("pageerror", lambda e, p=problems: p.append(str(e)))
                page.goto((folders[name] / "report.html").as_uri(), wait_until="load")
                assert problems == [], problems
                verdict = page.locator("#verdict")
                assert verdict.is_visible() and verdict.locator(".word").inner_text() == word
                images = page.locator("figure.chart img")
                assert images.count() == charts
                widths = images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
                assert all(w and w > 300 for w in widths), widths
                shot = imread(io.BytesIO(page.screenshot(full_page=True)), format="png")
                # Not blank: many distinct colours, not one flat page.
                pixels = shot.reshape(-1, shot.shape[-1])[::97]
                assert len({tuple(p) for p in pixels.round(2).tolist()}) > 20
                assert shot.std() > 0.05
                page.close()
        finally:
            browser.close()
