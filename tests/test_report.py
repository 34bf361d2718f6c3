"""Run reports (self-contained HTML, checked in a real headless browser) and run comparison."""

import base64
import json
import re

import pytest

import ganforge

from support.sizes import TINY_DCGAN
from support.browser import headless_chromium
from support.cli import cli


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    from ganforge.hooks import manager as plugin_manager

    plugin_manager.reset_plugins()
    run = tmp_path_factory.mktemp("runs") / "dcgan"
    ganforge.train("dcgan", steps=4, batch_size=8, out=run, params=TINY_DCGAN, quiet=True, eval_every=2,
                   sample_every=2, log_every=1)
    ganforge.evaluate(run, n=200, real_split="test")
    return run


@pytest.mark.e2e
def test_report_is_self_contained_and_holds_every_part(evaluated_run, tmp_path):
    result = cli("report", str(evaluated_run), "-o", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "r.html").read_text()
    assert not re.search(r"""(src|href)=['"](?!data:)""", page)  # nothing loaded from disk or network
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    alts = re.findall(r"alt='([^']+)'", page)
    assert alts[:3] == ["samples at step_0000000", "samples at step_0000002", "samples at step_0000004"]
    # it evaluated along the way (eval_every=2): its evaluation against wall time too
    assert {"losses curves", "evaluation curves", "evaluation against wall time", "interpolation"} <= set(alts)
    assert "fid (eval, digits, G.ckpt vs mnist-5k/test)" in page and "fid_digits" in page and "&quot;recipe&quot;: &quot;dcgan&quot;" in page


def test_report_of_a_folder_that_is_not_a_run_is_a_one_line_error(tmp_path):
    result = cli("report", str(tmp_path))
    assert result.returncode == 1 and "not a ganforge run directory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_of_a_run_with_a_corrupt_config_is_a_one_line_error(tmp_path):
    (tmp_path / "config.json").write_bytes(b"{not json")
    result = cli("report", str(tmp_path))
    assert result.returncode == 1 and "corrupt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.system
def test_report_images_load_in_a_headless_browser(evaluated_run, tmp_path):
    path = ganforge.report(evaluated_run, tmp_path / "report.html")
    browser = headless_chromium()
    try:
        browser.get(path.resolve().as_uri())
        images = browser.execute_script(
            "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
        title = browser.title
    finally:
        browser.quit()
    assert "ganforge report" in title
    assert len(images) >= 5
    for alt, complete, width, height in images:
        assert complete and width > 0 and height > 0, alt


@pytest.mark.e2e
def test_compare_puts_runs_side_by_side(evaluated_run, tmp_path):
    other = tmp_path / "other"
    ganforge.train("dcgan", steps=2, batch_size=8, out=other, params=TINY_DCGAN, quiet=True)
    rows = ganforge.compare([evaluated_run, other])
    assert [r["recipe"] for r in rows] == ["dcgan", "dcgan"] and [r["step"] for r in rows] == [4, 2]
    label = "fid (eval, digits, G.ckpt vs mnist-5k/test)"  # the fixture scored against the held-out split
    assert label in rows[0] and label not in rows[1]
    saved = json.loads((evaluated_run / "eval-digits-G.ckpt-test.json").read_text())
    assert rows[0][label] == saved["metrics"]["fid"]
    result = cli("compare", str(evaluated_run), str(other))
    assert result.returncode == 0 and label in result.stdout
