"""Turns the gateway variables into files: templates for configuration, serialisers for data.

The output layout is a contract with the gateway role and the namespace lab:

    OUT/gateway/nftables.conf, dnsmasq.conf, hostapd-<segment>.conf, interfaces.sh,
               failover.json, networkd/*
    OUT/inventory/hosts.yml, host_vars/<site-id>-gw.yml

Everything is rendered in memory before anything is written, so a template error leaves the
previous output untouched; the same site always gives the same bytes.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import jinja2
import yaml

from provision.errors import RenderFailed
from provision.render.gateway import gateway_vars
from provision.site.model import Site

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
EXECUTABLE = {Path("gateway/interfaces.sh")}
# Files in OUT/gateway that only some sites have; a re-render removes the ones no longer due.
OPTIONAL_OUTPUTS = ("hostapd-*.conf", "networkd/*")


def _environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # configuration files, not HTML; values are checked in gateway_vars
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _template_line(exc: BaseException, templates_dir: Path) -> tuple[str, int] | None:
    """The innermost template frame of a rendering error: Jinja maps its generated code back to
    the template's file and line in the traceback."""
    root = templates_dir.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.is_relative_to(root) and frame.lineno is not None:
            return path.relative_to(root).as_posix(), frame.lineno
    return None


class Renderer:
    """Renders the repo's templates (or another folder's, for tests) with errors that name
    template:line."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.templates_dir = templates_dir or TEMPLATES_DIR
        self.environment = _environment(self.templates_dir)

    def render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.environment.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise RenderFailed(f"template {exc.name} not found in {self.templates_dir}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise RenderFailed(f"{exc.name or name}:{exc.lineno}: {exc.message}",
                               hint="fix the template's syntax") from exc
        except jinja2.TemplateError as exc:
            where = _template_line(exc, self.templates_dir)
            place = f"{where[0]}:{where[1]}" if where else name
            raise RenderFailed(f"{place}: {exc.message}", hint="the template uses a value "
                               "that gateway_vars does not provide") from exc


def failover_settings(values: dict[str, Any]) -> dict[str, Any]:
    """What the failover watcher needs: which link to prefer, which to fall back to, how to
    tell the primary has failed. Links come primary first from gateway_vars."""
    keys = ("name", "type", "interface", "addressing", "address", "next_hop", "metric")
    links = [{k: link[k] for k in keys} for link in values["links"]]
    return {
        "site_id": values["site_id"],
        "primary": links[0],
        "backups": links[1:],
        "health_check": values["health_check"],
    }


def inventory(values: dict[str, Any], ansible_host: str, ansible_user: str) -> dict[str, Any]:
    return {"all": {"children": {"gateways": {"hosts": {values["gateway_name"]: {
        "ansible_host": ansible_host, "ansible_user": ansible_user}}}}}}


def _networkd_units(values: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(file name, template, extra context) for every systemd-networkd unit."""
    units: list[tuple[str, str, dict[str, Any]]] = [
        (f"10-provision-{values['lan_interface']}.network", "trunk.network.j2", {})]
    for seg in values["segments"]:
        ctx = {"segment": seg}
        if seg["bridged"]:
            units += [(f"20-provision-{seg['interface']}.netdev", "bridge.netdev.j2", ctx),
                      (f"20-provision-{seg['vlan_device']}.network", "bridge-port.network.j2",
                       ctx)]
        units += [(f"20-provision-{seg['vlan_device']}.netdev", "vlan.netdev.j2", ctx),
                  (f"20-provision-{seg['interface']}.network", "segment.network.j2", ctx)]
    units += [(f"30-provision-{link['interface']}.network", "wan.network.j2", {"link": link})
              for link in values["links"] if link["addressing"] in ("dhcp", "static")]
    return [(f"networkd/{name}", f"gateway/networkd/{template}", ctx)
            for name, template, ctx in units]


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True)


def render_files(site: Site, templates_dir: Path | None = None) -> dict[Path, str]:
    """Every output file's path (relative to OUT) and text, in a stable order."""
    renderer = Renderer(templates_dir)
    values = gateway_vars(site)
    gateway: dict[str, str] = {
        "nftables.conf": renderer.render("gateway/nftables.conf.j2", values),
        "dnsmasq.conf": renderer.render("gateway/dnsmasq.conf.j2", values),
    }
    for seg in values["segments"]:
        if seg["wifi"]:
            gateway[f"hostapd-{seg['name']}.conf"] = renderer.render(
                "gateway/hostapd.conf.j2", {**values, "segment": seg})
    for name, template, ctx in _networkd_units(values):
        gateway[name] = renderer.render(template, {**values, **ctx})
    gateway["interfaces.sh"] = renderer.render("gateway/interfaces.sh.j2", values)
    gateway["failover.json"] = json.dumps(failover_settings(values), indent=2) + "\n"
    files = {Path("gateway", name): text for name, text in gateway.items()}
    files[Path("inventory/hosts.yml")] = _yaml(
        inventory(values, site.gateway.host, site.gateway.ssh_user))
    files[Path("inventory/host_vars", f"{values['gateway_name']}.yml")] = _yaml(values)
    return files


def render_site(site: Site, out: Path, *, templates_dir: Path | None = None) -> list[Path]:
    """Writes the gateway's configuration and the Ansible inventory under `out`; returns the
    files written. Files a previous render left that are no longer due are removed."""
    files = render_files(site, templates_dir)
    written = []
    for relative, text in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755 if relative in EXECUTABLE else 0o644)
        written.append(path)
    for pattern in OPTIONAL_OUTPUTS:
        for stale in (out / "gateway").glob(pattern):
            if stale.relative_to(out) not in files:
                stale.unlink()
    return written
