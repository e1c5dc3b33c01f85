"""The handover pack in a real browser: headless Chromium renders the page to a PNG, which
must not be blank, and the DOM Chromium parsed must hold the diagram with every segment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from provision.checks import load_site
from provision.pack import write_pack
from provision.verify import CheckResult
from tests.conftest import FIELD_HOSPITAL
from tests.pack.pack_helpers import diagram_texts

WINDOW = (1280, 2000)
NHS_DARK_BLUE = (0x00, 0x30, 0x87)  # the gateway box, the trunk and the matrix's headings


def _chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; installed here if missing (scripts/setup installs it for CI)."""
    found = _chromium_binary()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq",
                        "--no-install-recommends", "chromium"], check=False,
                       capture_output=True, timeout=900,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = _chromium_binary()
    if found is None:
        pytest.skip("no chromium binary, and `apt-get install chromium` did not provide one")
    return found


def _run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The background-networking flags keep Chromium from dialling out on a closed network;
    # a fresh profile per run keeps runs independent.
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


def test_the_pack_renders_in_chromium(chromium: str, tmp_path: Path) -> None:
    site = load_site(FIELD_HOSPITAL)
    page = write_pack(site, tmp_path / "pack",
                      [CheckResult("dhcp:clinical", "dhcp", True, "a lease", "10.50.10.23")])
    screenshot = tmp_path / "pack.png"
    run = _run_chromium(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}",
                        f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    assert screenshot.is_file(), run.stderr

    with Image.open(screenshot) as image:
        assert image.size == WINDOW
        colours = image.convert("RGB").getcolors(maxcolors=WINDOW[0] * WINDOW[1])
    assert colours is not None
    counts = {colour: n for n, colour in colours}
    assert len(counts) > 200  # text, anti-aliasing and fills: far from a blank page
    non_white = sum(n for colour, n in counts.items() if colour != (255, 255, 255))
    assert non_white > 0.3 * WINDOW[0] * WINDOW[1]
    # The diagram was drawn, not just the page around it: its gateway box, trunk and matrix
    # headings fill about 75,000 pixels of NHS dark blue; without it, headings give ~9,000.
    assert counts.get(NHS_DARK_BLUE, 0) > 30_000

    dom = _run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    texts = diagram_texts(dom.stdout)
    for segment in site.network.segments:
        assert segment.name in texts
