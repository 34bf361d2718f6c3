"""The documentation: README links resolve, every page is in the site's navigation,
and the site builds with warnings as errors (a renamed function or a broken link fails)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_links_point_at_files_that_exist():
    targets = [t for t in LINK.findall((ROOT / "README.md").read_text()) if "://" not in t]
    assert "docs/index.md" in targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert pages and all(f" {page}" in nav for page in pages), "a page in docs/ is missing from mkdocs.yml's nav"


@pytest.mark.system
def test_the_site_builds_strictly(tmp_path):
    if shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists():
        pytest.skip('mkdocs is not installed (pip install -e ".[docs]")')
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    reference = (tmp_path / "site" / "cli" / "index.html").read_text()
    for command in ("train", "sample", "export", "eval", "bench", "plugins", "uninstall"):
        assert f"ganforge {command}" in reference, f"the CLI reference lacks `ganforge {command}`"
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert 'id="ganforge.api.train"' in api and 'id="ganforge.hooks.specs.register_gans"' in api
