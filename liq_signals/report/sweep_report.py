"""The comparison page of a sweep: ``OUT/index.html``, one sortable row per run, each linking its report.

Rows come from each run's ``summary.json`` (the run-directory contract, :mod:`liq_signals.backtest.run_dir`):
full run id, PnL, max drawdown, Sharpe, trades, net funding (USDT), signals published / entered / swept, and
the PnL difference to the run's baseline. Click a column header to sort (again to reverse). The reports of a
sweep load one shared ``OUT/plotly.min.js`` (:func:`write_shared_plotly`) instead of embedding 4.6 MB each.
"""

from __future__ import annotations

import functools
import html
import json
import os
import tempfile
from pathlib import Path

from liq_signals.backtest import run_dir as RD
from liq_signals.errors import InputFileError

INDEX_NAME = "index.html"
PLOTLY_NAME = "plotly.min.js"
COLUMNS = (  # (header, summary.json getter, format)
    ("run", lambda s: s.get("run_id"), "text"),
    ("PnL USDT", lambda s: s.get("pnl_total"), "money"),
    ("max drawdown USDT", lambda s: s.get("max_drawdown_usdt"), "money"),
    ("Sharpe", lambda s: s.get("sharpe"), "ratio"),
    ("trades", lambda s: s.get("trades"), "int"),
    ("fills", lambda s: s.get("fills"), "int"),
    ("funding USDT", lambda s: s.get("funding_net_usdt"), "money"),
    ("signals", lambda s: s.get("signals_published"), "int"),
    ("entered", lambda s: (s.get("events") or {}).get("entered", 0), "int"),
    ("swept", lambda s: (s.get("events") or {}).get("swept", 0), "int"),
    ("vs baseline PnL USDT", lambda s: (s.get("vs_baseline") or {}).get("pnl_total"), "money"),
)

CSS = """
body { background:#0d1117; color:#d7dde8; font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
       margin:0; padding:18px 26px; }
h1 { font-size:22px; color:#fff; } .sub { color:#9aa6b8; font-size:13px; margin-bottom:10px; }
table { border-collapse:collapse; font-size:13px; }
th { cursor:pointer; text-align:right; padding:4px 10px; border-bottom:1px solid #263040; color:#9aa6b8; }
td { text-align:right; padding:3px 10px; border-bottom:1px solid #161c26; font-variant-numeric:tabular-nums; }
th:first-child, td:first-child { text-align:left; word-break:break-all; }
a { color:#6cb6ff; } .neg { color:#ff7b72; } .pos { color:#7ee787; }
"""

SORT_JS = """
document.querySelectorAll('th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], rows = Array.from(body.rows);
    var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v, nx = parseFloat(x), ny = parseFloat(y);
      var c = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def write_shared_plotly(out_dir: Path) -> Path:
    """Write ``out_dir/plotly.min.js`` (plotly's bundled copy; atomically) and return its path."""
    from plotly.offline import get_plotlyjs

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / PLOTLY_NAME
    fd, tmp = tempfile.mkstemp(prefix=f".{PLOTLY_NAME}.", dir=out_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(get_plotlyjs())
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    return target


def sweep_report_writer():
    """``finish`` callback for the runs of a sweep: each report loads ``../plotly.min.js`` (picklable)."""
    from liq_signals.report.run_report import write_run_report

    return functools.partial(write_run_report, plotly_src=f"../{PLOTLY_NAME}")


def _cell(value, fmt: str) -> str:
    if value is None:
        return "<td data-v=''>n/a</td>"
    if fmt == "text":
        return f"<td data-v='{html.escape(str(value))}'>{html.escape(str(value))}</td>"
    cls = " class='neg'" if fmt == "money" and value < 0 else " class='pos'" if fmt == "money" and value > 0 else ""
    text = f"{value:,.2f}" if fmt in ("money", "ratio") else f"{int(value):,d}"
    return f"<td data-v='{float(value)!r}'{cls}>{text}</td>"


def write_sweep_page(out_dir: Path, run_ids: list[str], title: str = "") -> Path:
    """Write ``out_dir/index.html`` comparing the runs ``run_ids`` (their ``summary.json``); each run id links
    its ``report.html`` when present, else its ``summary.json``."""
    out_dir = Path(out_dir)
    rows = []
    for rid in run_ids:
        path = out_dir / rid / RD.SUMMARY
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputFileError(str(path), f"cannot read: {exc}") from None
        target = RD.REPORT if (out_dir / rid / RD.REPORT).is_file() else RD.SUMMARY
        cells = []
        for i, (_, get, fmt) in enumerate(COLUMNS):
            if i == 0:
                href = html.escape(f"{rid}/{target}")
                cells.append(f"<td data-v='{html.escape(rid)}'><a href='{href}'>{html.escape(rid)}</a></td>")
            else:
                cells.append(_cell(get(summary), fmt))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _, _ in COLUMNS)
    title = title or f"Sweep of {len(run_ids)} runs"
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        "<div class='sub'>One row per run (from its summary.json); click a header to sort. PnL includes "
        "commissions and funding (USDT); max drawdown = largest fall of the account balance from its peak; "
        "vs baseline = this run's PnL minus its baseline's (see backtests/README.md).</div>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<script>{SORT_JS}</script></body></html>"
    )
    out = out_dir / INDEX_NAME
    out.write_text(page, encoding="utf-8")
    return out
