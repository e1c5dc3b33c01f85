"""Layer 1: shape and types. Each top-level section is validated on its own, so one broken
section does not hide the problems in the others, and the later layers can still run every
rule whose sections are sound.

Pydantic's error kinds are mapped onto a few stable rule ids (SCHEMA_RULES) so that people and
tests can rely on them, and its messages are reworded in the site file's terms.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel, TypeAdapter, ValidationError

from provision.checks.findings import Finding, Severity
from provision.site.model import Site
from provision.site.source import PathKey, SourceMap

SCHEMA_RULES = {
    "schema.not-a-mapping": "the file is a mapping of sections",
    "schema.unknown-key": "every key is known (with a 'did you mean')",
    "schema.missing": "every required key is present",
    "schema.type": "every value has the right type (text, number, list, mapping ...)",
    "schema.choice": "values from a fixed set are one of them (with a 'did you mean')",
    "schema.size": "lists, text and numbers are within their bounds",
    "schema.date": "dates are real dates written YYYY-MM-DD",
    "schema.invalid": "any other shape problem",
}

_TYPE_NOUNS = {
    "string_type": "text", "int_type": "a whole number", "int_from_float": "a whole number",
    "int_parsing": "a whole number", "bool_type": "true or false",
    "bool_parsing": "true or false", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
}


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


def _is_union_tag(part: Any) -> bool:
    """pydantic names the branch of a union in `loc`, e.g. "list[str]" or "literal['a']"."""
    return isinstance(part, str) and not part.isidentifier()


def _deepest_branches(errors: list[Any]) -> list[Any]:
    """Of a union's branches, keeps the one the value got into (a list with one bad entry is
    reported as that entry, not also as "not 'protective'")."""
    entered = {tuple(e["loc"][:i]) for e in errors for i, part in enumerate(e["loc"][:-1])
               if _is_union_tag(part)}
    return [e for e in errors if not (e["loc"] and _is_union_tag(e["loc"][-1])
                                      and tuple(e["loc"][:-1]) in entered)]


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """The part of pydantic's `loc` that names real places in the document (drops union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif _is_union_tag(part):
            continue
        elif isinstance(node, dict) and isinstance(part, str):
            path.append(part)  # a missing key: still worth naming
            break
        else:
            break
        path.append(part)
    return tuple(path)


def dotted(path: PathKey) -> str:
    """("network", "segments", 0, "cidr") -> network.segments[0].cidr"""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _closest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({value})"


def _type_fix(kind: str, value: Any) -> str:
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        return f'put it in quotes: "{str(value).lower() if isinstance(value, bool) else value}"'
    if kind.startswith("int") and isinstance(value, str):
        return "write the number without quotes"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "write `key: value` lines indented under it (see `provision schema`)"
    if kind == "list_type":
        return "write a list: [a, b] or one `- item` per line"
    return "see `provision schema` for what this key takes"


def _unknown_key(owner: type[BaseModel] | None, key: str) -> tuple[str | None, str]:
    known = sorted(owner.model_fields) if owner else []
    close = _closest(key, known)
    return close, (f"did you mean '{close}'?" if close
                   else "remove it; known keys here: " + ", ".join(known))


def _finding(errors: list[Any], data: Any, source: SourceMap, prefix: PathKey) -> Finding:
    """One finding for the errors pydantic reported at one place (several for a union)."""
    error = errors[0]
    loc = prefix + tuple(error["loc"])
    path = _data_path(data, loc)
    where = source.at(*path)
    kind: str = error["type"]
    key = str(loc[-1]) if loc else ""
    owner = _model_at(loc)
    value = error.get("input")
    if kind == "extra_forbidden":
        _close, fix = _unknown_key(owner, key)
        return Finding("schema.unknown-key", Severity.ERROR, where,
                       f"unknown key '{key}' in {dotted(path[:-1])}", fix)
    if kind == "missing":
        field = owner.model_fields.get(key) if owner else None
        what = field.description if field and field.description else ""
        return Finding("schema.missing", Severity.ERROR, where,
                       f"{dotted(path[:-1])} is missing '{key}'",
                       f"add `{key}:`" + (f" — {what}" if what else ""))
    if len(errors) > 1:  # a union: none of its forms matched
        forms = " or ".join(dict.fromkeys(e["msg"].removeprefix("Input should be ")
                                          for e in errors))
        return Finding("schema.type", Severity.ERROR, where,
                       f"{dotted(path)}: expected {forms}, got {_describe(value)}",
                       "see `provision schema` for what this key takes")
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        close = _closest(str(value), choices) if isinstance(value, str) else None
        if isinstance(value, bool):
            fix = ("YAML reads unquoted yes/no/on/off as true/false; put the value in quotes, "
                   'e.g. "off"')
        else:
            fix = f"did you mean '{close}'?" if close else "use one of the values listed"
        return Finding("schema.choice", Severity.ERROR, where,
                       f"{dotted(path)}: {_describe(value)} is not one of: "
                       + ", ".join(choices), fix)
    if kind in _TYPE_NOUNS:
        return Finding("schema.type", Severity.ERROR, where,
                       f"{dotted(path)}: expected {_TYPE_NOUNS[kind]}, got {_describe(value)}",
                       _type_fix(kind, value))
    if kind.startswith("date"):
        return Finding("schema.date", Severity.ERROR, where,
                       f"{dotted(path)}: {_describe(value)} is not a date",
                       "write a real date as YYYY-MM-DD, e.g. 2026-12-01")
    message = error["msg"].removeprefix("Value error, ")
    rule = "schema.size" if kind.startswith(("too_", "string_too", "greater", "less")) \
        else "schema.invalid"
    return Finding(rule, Severity.ERROR, where, f"{dotted(path)}: {message}",
                   "see `provision schema` for what this key takes")


def _section_findings(exc: ValidationError, data: Any, source: SourceMap, name: str
                      ) -> list[Finding]:
    """Groups pydantic's errors by place, and drops a 'missing' that a misspelt key explains."""
    by_place: dict[PathKey, list[Any]] = {}
    suggested: set[PathKey] = set()
    for error in _deepest_branches(exc.errors()):
        loc = (name, *error["loc"])
        if error["type"] == "extra_forbidden":
            close, _fix = _unknown_key(_model_at(loc), str(loc[-1]))
            if close:
                suggested.add((*loc[:-1], close))
            by_place[loc] = [error]
        else:
            by_place.setdefault(_data_path(data, loc), []).append(error)
    return [_finding(errors, data, source, (name,)) for errors in by_place.values()
            if not (errors[0]["type"] == "missing"
                    and (name, *errors[0]["loc"]) in suggested)]


def check_schema(data: Any, source: SourceMap) -> SchemaResult:
    root = source.at()
    fields = Site.model_fields
    if not isinstance(data, dict):
        return SchemaResult({}, set(fields), [Finding(
            "schema.not-a-mapping", Severity.ERROR, root,
            f"a site file is a mapping of sections (site:, cloud:, network: ...); this one is "
            f"{_describe(data)}",
            "start from `provision new --kind field-hospital --id my-site`")])
    findings: list[Finding] = []
    sections: dict[str, Any] = {}
    invalid: set[str] = set()
    suggested: set[str] = set()
    for key in data:
        if key not in fields:
            close, fix = _unknown_key(Site, str(key))
            suggested.add(close or "")
            findings.append(Finding("schema.unknown-key", Severity.ERROR, source.at(str(key)),
                                    f"unknown section '{key}'", fix))
    for name, field in fields.items():
        if name not in data:
            if field.is_required():
                invalid.add(name)
                if name not in suggested:
                    findings.append(Finding(
                        "schema.missing", Severity.ERROR, root,
                        f"the '{name}' section is missing",
                        f"add the `{name}:` section — {field.description}"))
            continue
        try:
            # Every section is annotated; newer pydantic types `annotation` as optional.
            adapter: TypeAdapter[Any] = TypeAdapter(cast(Any, field.annotation))
            sections[name] = adapter.validate_python(data[name])
        except ValidationError as exc:
            invalid.add(name)
            findings += _section_findings(exc, data, source, name)
    return SchemaResult(sections, invalid, findings)
