"""The JSON Schema for editors: committed, current, documented, and accepting the examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from provision.site.model import Site
from provision.site.schema import site_json_schema

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "sites" / "schema.json"
SITE_FILES = sorted((REPO / "sites").rglob("*.yaml"))


def test_committed_schema_is_current() -> None:
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == site_json_schema(), (
        "sites/schema.json is out of date; refresh it with: provision schema > sites/schema.json")


def test_every_site_file_points_editors_at_the_committed_schema() -> None:
    assert SITE_FILES
    for path in SITE_FILES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        pointer = first.removeprefix("# yaml-language-server: $schema=")
        assert pointer != first, f"{path} does not start with the schema line"
        assert (path.parent / pointer).resolve() == COMMITTED


class _EditorLoader(yaml.SafeLoader):
    """Reads dates as text, as editors' YAML language servers do."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.mark.parametrize("path", SITE_FILES, ids=lambda p: p.stem)
def test_schema_accepts_the_examples_as_an_editor_reads_them(path: Path) -> None:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_EditorLoader)
    validator = jsonschema.Draft202012Validator(site_json_schema(),
                                                format_checker=jsonschema.FormatChecker())
    assert [e.message for e in validator.iter_errors(data)] == []


def test_schema_rejects_what_the_checks_reject() -> None:
    validator = jsonschema.Draft202012Validator(site_json_schema())
    data = yaml.load((REPO / "sites/examples/field-hospital.yaml").read_text(encoding="utf-8"),
                     Loader=_EditorLoader)
    data["network"]["segments"][0]["colour"] = "blue"
    data["identity"]["mfa"] = "sometimes"
    assert len(list(validator.iter_errors(data))) == 2


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    seen.add(model)
    for info in model.model_fields.values():
        for inner in _nested(info.annotation):
            if inner not in seen:
                _models(inner, seen)


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _nested(arg)]


def test_every_field_is_documented() -> None:
    models: set[type[BaseModel]] = set()
    _models(Site, models)
    undocumented = [f"{m.__name__}.{name}" for m in models
                    for name, info in m.model_fields.items() if not info.description]
    assert undocumented == []
