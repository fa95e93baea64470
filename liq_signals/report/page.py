"""Assemble figures and header blocks into one self-contained HTML page (plotly.js embedded once, no CDN)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

PAGE_CSS = """
body { background:#0d1117; color:#d7dde8; font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
       margin:0; padding:18px 26px; }
h1 { font-size:22px; margin:4px 0 6px 0; color:#ffffff; }
h2 { font-size:17px; margin:26px 0 6px 0; color:#ffffff; border-bottom:1px solid #263040; padding-bottom:4px; }
.sub { color:#9aa6b8; font-size:13px; margin-bottom:10px; }
.note { background:#161c26; border-left:3px solid #f3c13a; padding:8px 12px; font-size:13px; margin:10px 0; }
table.meta { border-collapse:collapse; font-size:13px; margin:6px 0 4px 0; }
table.meta td { padding:3px 14px 3px 0; vertical-align:top; }
table.meta td.k { color:#9aa6b8; white-space:nowrap; }
details { font-size:12px; margin:6px 0; } pre { background:#161c26; padding:8px; overflow:auto; max-height:320px; }
.fig { margin:6px 0 12px 0; }
"""

PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "scrollZoom": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


@dataclass(frozen=True)
class Section:
    """One block of the page: a heading, an optional paragraph and a figure (or raw HTML)."""

    heading: str
    figure: object | None = None  # plotly Figure
    text: str = ""  # trusted HTML
    div_id: str = ""


def meta_table(rows: list[tuple[str, str]]) -> str:
    """Two-column key/value HTML table; values are escaped."""
    cells = "".join(
        f"<tr><td class='k'>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows if v not in (None, "")
    )
    return f"<table class='meta'>{cells}</table>"


def json_details(summary: str, value: dict) -> str:
    """Collapsible pretty-printed JSON."""
    if not value:
        return ""
    body = html.escape(json.dumps(value, indent=2, default=str))
    return f"<details><summary>{html.escape(summary)}</summary><pre>{body}</pre></details>"


def render_page(title: str, header_html: str, sections: list[Section]) -> str:
    """Full HTML document: plotly.js inlined once in <head>, then the header and each section."""
    from plotly.offline import get_plotlyjs

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        header_html,
    ]
    for i, s in enumerate(sections):
        parts.append(f"<h2>{html.escape(s.heading)}</h2>")
        if s.text:
            parts.append(f"<div class='sub'>{s.text}</div>")
        if s.figure is not None:
            div_id = s.div_id or f"fig-{i}"
            parts.append("<div class='fig'>")
            parts.append(s.figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG))
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_page(out: Path, title: str, header_html: str, sections: list[Section]) -> Path:
    """Write the page to ``out`` (parents created) and return the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(title, header_html, sections), encoding="utf-8")
    return out
