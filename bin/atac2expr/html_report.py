"""The run's report page: one self-contained HTML file (inline CSS, figures embedded as data: URIs, no script and
nothing fetched over a network), readable offline and sendable as one file.

Sections: the run (region, samples, bins, genes), the held-out evaluation, the links of the best-predicted genes of
the best model with links (their browser-track figures and top bins), QC per sample and per gene (with a link to
MultiQC's report when the run made one), and the training on all samples. Every text from the data is escaped.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1b4f72; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; opacity: 0.9; }
nav { background: #eef2f5; padding: 8px 32px; border-bottom: 1px solid #d5dde3; }
nav a { margin-right: 18px; color: #1b4f72; text-decoration: none; font-weight: 600; }
main { padding: 8px 32px 40px 32px; max-width: 1200px; }
section { background: white; border: 1px solid #e1e6ea; border-radius: 6px; padding: 12px 20px; margin: 16px 0; }
h2 { color: #1b4f72; border-bottom: 2px solid #eef2f5; padding-bottom: 4px; }
h3 { margin-bottom: 6px; }
table { border-collapse: collapse; margin: 8px 0 14px 0; font-size: 13px; }
th, td { border: 1px solid #d5dde3; padding: 4px 8px; text-align: right; }
th { background: #eef2f5; }
td.text, th.text { text-align: left; }
tr.best td { background: #eaf5ea; font-weight: 600; }
figure { margin: 10px 0 18px 0; }
figure img { max-width: 100%; border: 1px solid #e1e6ea; }
figcaption { font-size: 13px; color: #555; }
.grid { display: flex; flex-wrap: wrap; gap: 10px; }
.grid figure { width: 360px; }
.note { font-size: 13px; color: #555; }
code { background: #f1f3f5; padding: 1px 4px; border-radius: 3px; }
"""


def data_uri(path: str | Path) -> str:
    """A PNG as a data: URI, so the page needs no file beside it."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: object, fmt: str) -> tuple[str, bool]:
    if isinstance(value, (float, np.floating)):
        return ("" if np.isnan(value) else fmt.format(value)), False
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}", False
    return escape(value), True


def table(frame: pd.DataFrame, formats: dict[str, str] | None = None, highlight: str | None = None, key: str | None = None) -> str:
    """An HTML table of a frame: numbers right-aligned (formats: column -> format), text left; the row whose `key`
    column equals `highlight` stands out."""
    formats = formats or {}
    head = "".join(f'<th class="{"text" if not pd.api.types.is_numeric_dtype(frame[c]) else ""}">{escape(c)}</th>' for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            text, is_text = _cell(row[column], formats.get(column, "{:.4g}"))
            cells.append(f'<td class="{"text" if is_text else ""}">{text}</td>')
        best = ' class="best"' if key is not None and highlight is not None and str(row[key]) == str(highlight) else ""
        rows.append(f"<tr{best}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figure(path: str | Path, caption: str, alt: str) -> str:
    return f'<figure><img src="{data_uri(path)}" alt="{escape(alt)}"><figcaption>{escape(caption)}</figcaption></figure>'


@dataclass
class Page:
    title: str
    subtitle: str
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # anchor, heading, HTML body

    def add(self, anchor: str, heading: str, body: str) -> None:
        self.sections.append((anchor, heading, body))

    def render(self) -> str:
        nav = "".join(f'<a href="#{escape(a)}">{escape(h)}</a>' for a, h, _ in self.sections)
        body = "".join(f'<section id="{escape(a)}"><h2>{escape(h)}</h2>{b}</section>' for a, h, b in self.sections)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, '
                f'initial-scale=1"><title>{escape(self.title)}</title><style>{CSS}</style></head><body>'
                f"<header><h1>{escape(self.title)}</h1><p>{escape(self.subtitle)}</p></header><nav>{nav}</nav>"
                f"<main>{body}</main></body></html>\n")
