"""Reads a site file's YAML into plain data plus a SourceMap, refusing what YAML makes dangerous.

Refused, each with a finding that names the line: input that is not UTF-8, syntax errors,
duplicate keys (YAML silently keeps the last one), and alias expansion beyond a small budget
(a "billion laughs" document expands exponentially from a few lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provision.checks.findings import Finding, Severity
from provision.site.source import Location, PathKey, SourceMap

MAX_EXPANDED_NODES = 20_000
MAX_FILE_BYTES = 1_000_000


@dataclass
class Document:
    data: Any
    source: SourceMap
    findings: list[Finding] = field(default_factory=list)


class _LoaderError(Exception):
    def __init__(self, rule: str, line: int, message: str, fix: str) -> None:
        super().__init__(message)
        self.rule, self.line, self.message, self.fix = rule, line, message, fix


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    """Counts nodes as if every alias were copied out; memoised so the count itself stays cheap."""
    key = id(node)
    if key in memo:
        return memo[key]
    if depth > 200:
        raise _LoaderError("yaml.depth", node.start_mark.line + 1, "the document nests too deeply",
                           "flatten the structure; a site file needs only a few levels")
    size = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += _expanded_size(item, memo, depth + 1)
    memo[key] = size
    if size > MAX_EXPANDED_NODES:
        raise _LoaderError(
            "yaml.alias-bomb", node.start_mark.line + 1,
            f"aliases in this document expand to more than {MAX_EXPANDED_NODES} values",
            "write the values out instead of nesting anchors and aliases",
        )
    return size


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:
        self.loader = loader
        self.source = source

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, path + ("<key>",))
                line = key_node.start_mark.line + 1
                if not isinstance(key, (str, int, bool, float)) or key is None:
                    raise _LoaderError("yaml.key", line, "a mapping key must be a plain value",
                                       "use a simple word as the key")
                if key in seen:
                    raise _LoaderError(
                        "yaml.duplicate-key", line,
                        f"duplicate key '{key}' (first at line {seen[key]}); YAML would keep only "
                        "the last one",
                        "remove one of them, or merge their contents",
                    )
                seen[key] = line
                child = path + (str(key),)
                self.source.record(child, line)
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                child = path + (index,)
                self.source.record(child, item.start_mark.line + 1)
                items.append(self.build(item, child))
            return items
        return self.loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: Path) -> Document:
    """Parses already-decoded text with the rules above."""
    source = SourceMap(file=file)
    source.record((), 1)
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            problem = exc.problem or str(exc)
            raise _LoaderError("yaml.syntax", line, f"YAML syntax error: {problem}",
                               "check indentation, colons and quotes on this line and the one "
                               "before") from exc
        if root is None:
            raise _LoaderError("yaml.empty", 1, "the file is empty",
                               "start from `provision new --kind field-hospital --id my-site`")
        _expanded_size(root, {})
        data = _Builder(loader, source).build(root, ())
    except _LoaderError as err:
        finding = Finding(err.rule, Severity.ERROR, Location(str(file), err.line), err.message,
                          err.fix)
        return Document(None, source, [finding])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        finding = Finding("yaml.value", Severity.ERROR, Location(str(file), line),
                          f"YAML value error: {getattr(exc, 'problem', None) or exc}",
                          "quote the value if it is meant as text")
        return Document(None, source, [finding])
    finally:
        loader.dispose()
    return Document(data, source)


def read_yaml(file: Path) -> Document:
    """Reads a file as strict UTF-8 and parses it."""
    raw = file.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        return Document(None, SourceMap(file), [Finding(
            "file.too-large", Severity.ERROR, Location(str(file), 1),
            f"the file is {len(raw)} bytes; a site file is expected to be far smaller",
            "check that this is the right file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Document(None, SourceMap(file), [Finding(
            "file.encoding", Severity.ERROR, Location(str(file), line),
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            "save the file as UTF-8 (most editors: 'Save with encoding')")])
    return parse_yaml(text.removeprefix("\ufeff"), file)
