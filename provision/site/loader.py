"""Reads a site file's YAML into plain data plus a SourceMap, refusing what YAML makes dangerous.

Refused, each with a finding that names the line: a path that is not a readable regular file,
input that is not UTF-8 or holds control characters (a binary file), syntax errors, duplicate
keys (YAML silently keeps the last one), values YAML cannot construct (a date like 2026-13-01),
and alias expansion or nesting beyond a small budget (a "billion laughs" document expands
exponentially from a few lines).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provision.checks.findings import Finding, Severity
from provision.site.source import Location, PathKey, SourceMap

MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 64
MAX_FILE_BYTES = 1_000_000
MERGE_TAG = "tag:yaml.org,2002:merge"
PLAIN_TAGS: dict[type[yaml.Node], str] = {yaml.MappingNode: "tag:yaml.org,2002:map",
                                          yaml.SequenceNode: "tag:yaml.org,2002:seq"}

LOADER_RULES = {
    "file.missing": "the site file exists",
    "file.unreadable": "the site file is a readable regular file, not a directory",
    "file.too-large": f"the site file is at most {MAX_FILE_BYTES} bytes",
    "file.encoding": "the site file is UTF-8",
    "file.binary": "the site file is text (no control characters)",
    "yaml.empty": "the site file is not empty",
    "yaml.syntax": "the site file is valid YAML",
    "yaml.duplicate-key": "no key is written twice in one mapping",
    "yaml.alias-bomb": f"anchors and aliases expand to at most {MAX_EXPANDED_NODES} values",
    "yaml.depth": f"the document nests at most {MAX_DEPTH} levels deep",
    "yaml.key": "mapping keys are plain words or numbers",
    "yaml.value": "every value can be built: real dates, no language-specific tags",
}


@dataclass
class Document:
    data: Any
    source: SourceMap
    findings: list[Finding] = field(default_factory=list)


class _LoaderError(Exception):
    def __init__(self, rule: str, line: int, message: str, fix: str) -> None:
        super().__init__(message)
        self.rule, self.line, self.message, self.fix = rule, line, message, fix


def _too_deep(line: int) -> _LoaderError:
    return _LoaderError("yaml.depth", line, f"the document nests more than {MAX_DEPTH} levels "
                        "deep", "flatten the structure; a site file needs only a few levels")


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    """Counts nodes as if every alias were copied out; memoised so the count itself stays cheap."""
    key = id(node)
    if key in memo:
        return memo[key]
    if depth > MAX_DEPTH:
        raise _too_deep(node.start_mark.line + 1)
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
    """Builds plain data from nodes, recording each key's and list item's line."""

    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:
        self.loader = loader
        self.source = source

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if type(node) in PLAIN_TAGS and node.tag != PLAIN_TAGS[type(node)]:
            raise _LoaderError("yaml.value", node.start_mark.line + 1,
                               f"the tag {node.tag} is not allowed in a site file",
                               "remove the tag (the part starting with !)")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                child = path + (index,)
                self.source.record(child, item.start_mark.line + 1)
                items.append(self.build(item, child))
            return items
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # e.g. a timestamp-shaped 2026-13-01
            raise _LoaderError("yaml.value", node.start_mark.line + 1,
                               f"'{node.value}' cannot be read as a {node.tag.rsplit(':', 1)[-1]}"
                               f" ({exc})", "write dates as YYYY-MM-DD with a real day and "
                               "month; quote the value if it is meant as text") from exc

    def _key(self, key_node: yaml.Node) -> str | int | float | bool:
        key = self.build(key_node, ())
        if not isinstance(key, (str, int, bool, float)):
            raise _LoaderError("yaml.key", key_node.start_mark.line + 1,
                               "a mapping key must be a plain word or number",
                               "use a simple word as the key")
        return key

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        # Duplicates are looked for among the keys written here; keys brought in by a merge
        # (`<<: *defaults`) may be overridden, which is what merging is for.
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key, line = self._key(key_node), key_node.start_mark.line + 1
            if key in seen:
                raise _LoaderError(
                    "yaml.duplicate-key", line,
                    f"duplicate key '{key}' (first at line {seen[key]}); YAML would keep only "
                    "the last one", "remove one of them, or merge their contents")
            seen[key] = line
        self.loader.flatten_mapping(node)  # merged pairs first, so the explicit ones win
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            child = path + (str(key),)
            self.source.record(child, key_node.start_mark.line + 1)
            result[key] = self.build(value_node, child)
        return result


def _refused(file: Path, rule: str, line: int, message: str, fix: str) -> Document:
    source = SourceMap(file=file)
    return Document(None, source, [Finding(rule, Severity.ERROR, Location(str(file), line),
                                           message, fix)])


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_yaml(text: str, file: Path) -> Document:
    """Parses already-decoded text with the rules above."""
    source = SourceMap(file=file)
    source.record((), 1)
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        return _refused(file, "file.binary", _line_of(text, exc.position),
                        f"the file holds a control character (U+{exc.character:04X}) that a "
                        "text file does not contain", "check that this is the site file; a "
                        "site file is plain UTF-8 text")
    try:
        root = loader.get_single_node()
        if root is None:
            raise _LoaderError("yaml.empty", 1, "the file is empty",
                               "start from `provision new --kind field-hospital --id my-site`")
        _expanded_size(root, {})
        data = _Builder(loader, source).build(root, ())
    except _LoaderError as err:
        return _refused(file, err.rule, err.line, err.message, err.fix)
    except RecursionError:
        return _refused(file, "yaml.depth", 1, f"the document nests more than {MAX_DEPTH} "
                        "levels deep", "flatten the structure; a site file needs only a few "
                        "levels")
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        return _refused(file, "yaml.value", mark.line + 1 if mark else 1,
                        f"YAML cannot build this value: {exc.problem or exc}",
                        "a site file uses plain values: remove tags such as !!python/... "
                        "and make sure `<<:` merges a mapping")
    except yaml.MarkedYAMLError as exc:
        # An unclosed quote or bracket is best shown where it was opened.
        opened = (exc.context or "").startswith("while scanning") and exc.context_mark
        mark = exc.context_mark if opened else exc.problem_mark or exc.context_mark
        return _refused(file, "yaml.syntax", mark.line + 1 if mark else 1,
                        f"YAML syntax error: {exc.problem or exc}",
                        "check indentation, colons and quotes on this line and the one before")
    finally:
        loader.dispose()
    return Document(data, source)


class Unreadable(Exception):
    """A path that cannot be read as a small regular file; `rule` is a LOADER_RULES id."""

    def __init__(self, rule: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.rule, self.message, self.fix = rule, message, fix


def read_small_file(file: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES. Never opens a directory, device
    or pipe (reading /dev/zero would never end); raises Unreadable."""
    try:
        mode = file.stat().st_mode
        if stat.S_ISDIR(mode):
            raise Unreadable("file.unreadable", f"{file} is a directory without site files",
                             "name a file; `provision validate DIR` checks the .yaml files "
                             "beneath DIR")
        if not stat.S_ISREG(mode):
            raise Unreadable("file.unreadable", f"{file} is not a regular file",
                             "name a file saved on disk")
        with file.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise Unreadable("file.missing", f"{file} does not exist",
                         "check the path; `provision new` writes a new site file") from None
    except OSError as exc:
        raise Unreadable("file.unreadable", f"cannot read {file}: {exc.strerror}",
                         "check the path and its permissions") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise Unreadable("file.too-large", f"{file} is larger than {MAX_FILE_BYTES} bytes; "
                         "a site file is far smaller", "check that this is the right file")
    return raw


def read_yaml(file: Path) -> Document:
    """Reads a regular file of at most MAX_FILE_BYTES as strict UTF-8 and parses it."""
    try:
        raw = read_small_file(file)
    except Unreadable as exc:
        return _refused(file, exc.rule, 1, exc.message, exc.fix)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _refused(file, "file.encoding", raw[: exc.start].count(b"\n") + 1,
                        f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                        f"{exc.start})", "save the file as UTF-8 (most editors: 'Save with "
                        "encoding')")
    return parse_yaml(text.removeprefix("\ufeff"), file)
