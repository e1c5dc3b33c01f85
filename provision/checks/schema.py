"""Layer 1: shape and types. Each top-level section is validated on its own, so one broken
section does not hide the problems in the others, and the later layers can still run every
rule whose sections are sound."""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from provision.checks.findings import Finding, Severity
from provision.site.model import Site
from provision.site.source import PathKey, SourceMap


@dataclass
class SchemaResult:
    sections: dict[str, Any]  # validated section values, by name
    invalid: set[str]  # sections that failed (or were missing)
    findings: list[Finding]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as `list[Segment] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _model_at(loc: PathKey) -> type[BaseModel] | None:
    """The model that owns the last key of `loc`, walking from Site through lists."""
    model: type[BaseModel] | None = Site
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field else None
    return model


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """The part of pydantic's `loc` that names real places in the document (drops union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part.isidentifier():
            path.append(part)  # a missing key: still worth naming
            break
        else:
            break
        path.append(part)
    return tuple(path)


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def _finding(error: Any, data: Any, source: SourceMap, prefix: PathKey) -> Finding:
    loc = prefix + tuple(error["loc"])
    path = _data_path(data, loc)
    where = source.at(*path)
    kind = error["type"]
    key = loc[-1] if loc else ""
    owner = _model_at(loc)
    if kind == "extra_forbidden" and owner is not None:
        known = sorted(owner.model_fields)
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        fix = (f"did you mean '{close[0]}'?" if close else
               "remove it; known keys here: " + ", ".join(known))
        return Finding("schema.unknown-key", Severity.ERROR, where,
                       f"unknown key '{key}' in {_dotted(path[:-1])}", fix)
    if kind == "missing":
        field = owner.model_fields.get(str(key)) if owner else None
        what = field.description if field and field.description else ""
        return Finding("schema.missing", Severity.ERROR, where,
                       f"{_dotted(path)} is missing '{key}'",
                       f"add `{key}:`" + (f" — {what}" if what else ""))
    message = error["msg"]
    if "input" in error and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    field_path = _dotted(path)
    return Finding(f"schema.{kind}", Severity.ERROR, where, f"{field_path}: {message}",
                   "see `provision schema` for what this key takes")


def check_schema(data: Any, source: SourceMap) -> SchemaResult:
    root = source.at()
    if not isinstance(data, dict):
        return SchemaResult({}, set(Site.model_fields), [Finding(
            "schema.not-a-mapping", Severity.ERROR, root,
            "a site file must be a mapping of sections (site:, cloud:, network: ...)",
            "start from `provision new --kind field-hospital --id my-site`")])
    findings: list[Finding] = []
    sections: dict[str, Any] = {}
    invalid: set[str] = set()
    fields = Site.model_fields
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            findings.append(Finding(
                "schema.unknown-key", Severity.ERROR, source.at(str(key)),
                f"unknown section '{key}'",
                f"did you mean '{close[0]}'?" if close else
                "remove it; sections are: " + ", ".join(fields)))
    for name, field in fields.items():
        if name not in data:
            if field.is_required():
                invalid.add(name)
                findings.append(Finding(
                    "schema.missing", Severity.ERROR, root, f"the '{name}' section is missing",
                    f"add a `{name}:` section (see `provision new` for a complete file)"))
            continue
        try:
            sections[name] = TypeAdapter(field.annotation).validate_python(data[name])
        except ValidationError as exc:
            invalid.add(name)
            findings.extend(_finding(e, data, source, (name,)) for e in exc.errors())
    return SchemaResult(sections, invalid, findings)

