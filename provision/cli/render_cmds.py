"""`provision render`: the gateway's configuration and the Ansible inventory, as files to read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.checks import load_site
from provision.cli.app import app
from provision.cli.output import console, print_json
from provision.render import render_site


@app.command()
def render(
    site: Annotated[Path, typer.Argument(help="The site file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write gateway/ and inventory/ "
                                      "into.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Render the gateway's configuration (nftables, dnsmasq, hostapd, interfaces, failover)
    and the Ansible inventory for SITE into OUT, without touching anything live."""
    written = render_site(load_site(site), out)
    if as_json:
        print_json({"files": [str(path) for path in written]})
        return
    for path in written:  # one whole path per line, for people and for scripts alike
        console.print(str(path), soft_wrap=True, markup=False)
    console.print(f"wrote {len(written)} files under {out}", soft_wrap=True, markup=False)
