"""The handover pack: an HTML page for the people running a site (`provision pack`)."""

from provision.pack.page import render_pack, write_pack
from provision.pack.results import read_verify_results

__all__ = ["read_verify_results", "render_pack", "write_pack"]
