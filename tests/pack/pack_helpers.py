"""Shared by the pack tests: the sites they use and how they read a page back."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any


def many_segments(document: dict[str, Any]) -> None:
    """Nine segments, so the diagram wraps onto a second row, with long names and SSIDs."""
    segments = document["network"]["segments"]
    for i in range(5):
        segments.append({"name": f"ward-{i}-long-segment-name", "vlan": 100 + i,
                         "cidr": f"10.60.{i}.0/24",
                         "wifi": {"ssid": f"Ward {i} staff network, 32 bytes"[:32],
                                  "security": "wpa3-personal"},
                         "reach": ["internet", f"clinical:tcp/{8000 + i}", "clinical:udp/53",
                                   "devices:tcp/443"]})


class DiagramTexts(HTMLParser):
    """The text of every <text> element inside the page's network diagram."""

    def __init__(self) -> None:
        super().__init__()
        self.in_diagram = False
        self.in_text = False
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg" and ("id", "network-diagram") in attrs:
            self.in_diagram = True
        elif tag == "text" and self.in_diagram:
            self.in_text = True
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.in_diagram = False
        elif tag == "text":
            self.in_text = False

    def handle_data(self, data: str) -> None:
        if self.in_text:
            self.texts[-1] += data


def diagram_texts(html: str) -> list[str]:
    parser = DiagramTexts()
    parser.feed(html)
    return parser.texts


def visible_text(html: str) -> str:
    """The page's text with tags removed and entities decoded, whitespace collapsed."""
    parser = HTMLParser()
    chunks: list[str] = []
    parser.handle_data = chunks.append  # type: ignore[method-assign]
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(chunks))
