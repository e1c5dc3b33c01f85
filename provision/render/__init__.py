"""Jinja2 rendering of the on-site gateway's configuration and the Ansible inventory."""

from provision.render.files import render_site
from provision.render.gateway import gateway_vars

__all__ = ["gateway_vars", "render_site"]
