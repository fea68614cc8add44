"""Read what a report shows, as a reader sees it: the text of its sector table's cells."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path


class SectorTable(HTMLParser):
    """Collects the text of each body row of the report's #sector-table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = self._in_body = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "sector-table") in attrs:
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False
        elif tag == "table":
            self._in_table = self._in_body = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def report_rows(report: Path) -> dict[str, list[str]]:
    return sector_rows(report.read_text(encoding="utf-8"))


def sector_rows(html: str) -> dict[str, list[str]]:
    """Sector -> the texts of its other cells (value, average price, volume, count, share, change)."""
    parser = SectorTable()
    parser.feed(html)
    return {row[0]: row[1:] for row in parser.rows}


def previous_date(report: Path) -> str | None:
    """The date of the report this one is compared with ("compared with"), if any."""
    found = re.search(r'<time datetime="([0-9-]+)" id="previous-date">', report.read_text(encoding="utf-8"))
    return found.group(1) if found else None
