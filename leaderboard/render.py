"""HTML page (one self-contained file: inline CSS, the figure inlined as a data URI) and the Figure 1 plot."""

from __future__ import annotations

import base64
import html
import os
from collections import defaultdict
from datetime import datetime, timezone

from agentdistill.leaderboard.table import STAT_COLUMNS, Table, footnotes

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1d232a; }
h1 { font-size: 1.4em; margin: 0 0 4px 0; }
p.meta { color: #5a6470; margin: 0 0 16px 0; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.88em; }
th, td { border: 1px solid #d5dae0; padding: 4px 8px; white-space: nowrap; }
th { background: #eef1f5; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.avg { background: #f7f9fb; }
td.best { font-weight: 700; background: #e3f4e6; }
td.flagged { background: #fff1d6; color: #7a4d00; }
td.missing { color: #9aa3ad; text-align: center; }
tr.size-start td { border-top: 2px solid #5a6470; }
span.err, span.n { color: #5a6470; font-weight: 400; font-size: 0.85em; }
span.flag { display: block; font-size: 0.8em; }
ul.notes { font-size: 0.85em; color: #5a6470; }
img.figure { max-width: 100%; margin-top: 16px; border: 1px solid #d5dae0; }
"""


def _cell_html(key: str, cell, is_avg: bool) -> str:
    classes = ["num"] + (["avg"] if is_avg else [])
    if cell is None or cell.missing:
        return f'<td class="missing" data-col="{key}">—</td>'
    if cell.note is not None:
        return f'<td class="{" ".join(classes + ["flagged"])}" data-col="{key}">{html.escape(cell.note)}</td>'
    if cell.best:
        classes.append("best")
    if cell.flags:
        classes.append("flagged")
    body = ""
    if cell.value is not None:
        body += f'<span class="score">{100 * cell.value:.1f}</span>'
        if cell.stderr is not None:
            body += f' <span class="err">±{100 * cell.stderr:.1f}</span>'
    body += f' <span class="n">n={cell.n}</span>'
    if cell.flags:
        body += f'<span class="flag">⚠ {html.escape(", ".join(cell.flags))}</span>'
    title = html.escape(cell.run.path) if cell.run else ""
    return f'<td class="{" ".join(classes)}" data-col="{key}" title="{title}">{body}</td>'


def to_html(table: Table, title: str = "agentdistill leaderboard", source: str = "", stats: bool = False, figure_png: str | None = None,
            extra_html: str = "") -> str:
    cols = table.columns
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["Size", "Model", "Method"] + [label for _, label in cols])
    if stats:
        head += "".join(f"<th>{html.escape(label)}</th>" for _, label in STAT_COLUMNS)
    body = []
    previous = object()
    for row in table.rows:
        start = ' class="size-start"' if row.size != previous else ""
        previous = row.size
        tds = [
            f'<td data-col="size">{html.escape(row.size_label)}</td>',
            f'<td data-col="model">{html.escape(row.model)}</td>',
            f'<td data-col="method">{html.escape(row.method)}</td>',
        ]
        tds += [_cell_html(key, row.cells.get(key), key not in table.tasks) for key, _ in cols]
        if stats:
            tds += [f'<td class="num" data-col="{k}">{row.stats[k]:.2f}</td>' if k in row.stats else f'<td class="missing" data-col="{k}">—</td>' for k, _ in STAT_COLUMNS]
        attrs = f' data-size="{html.escape(row.size_label)}" data-method="{html.escape(row.method)}" data-model="{html.escape(row.model)}"'
        body.append(f"<tr{start}{attrs}>{''.join(tds)}</tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in footnotes(table))
    figure = ""
    if figure_png and os.path.isfile(figure_png):
        data = base64.b64encode(open(figure_png, "rb").read()).decode()
        figure = f'<img class="figure" alt="Accuracy vs model size" src="data:image/png;base64,{data}">'
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">Built {stamp} from {html.escape(source)}. Scores are % correct ± standard error, n = samples;
bold green: best per size; amber ⚠: flagged run (failed, partial or mismatched sample count), excluded from averages.</p>
<table id="leaderboard">
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
<ul class="notes">{notes}</ul>
{figure}
{extra_html}
</body></html>
"""


def plot_figure(table: Table, path: str) -> str:
    """Figure 1: average accuracy vs model size, one line per method; factual and math panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("factual_avg", "Factual reasoning (avg of 4)"), ("math_avg", "Math reasoning (avg of 4)"))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    methods = list(dict.fromkeys(row.method for row in table.rows))
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colors = {m: palette[i % len(palette)] for i, m in enumerate(methods)}  # same colour in both panels
    for ax, (key, label) in zip(axes, panels):
        series: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for row in table.rows:
            cell = row.cells.get(key)
            if row.size is None or cell is None or cell.value is None:
                continue
            series[row.method].append((row.size, 100 * cell.value, 100 * (cell.stderr or 0.0)))
        for index, method in enumerate(methods):
            points = sorted(series.get(method, []))
            if not points:
                continue
            xs, ys, es = zip(*points)
            dodge = 1.0 + 0.04 * (index - (len(methods) - 1) / 2)  # side by side, so equal values stay visible
            xs = [x * dodge for x in xs]
            style = "--" if "distilled" in method else "-"
            ax.errorbar(xs, ys, yerr=es, fmt="o" + style, capsize=3, label=method, color=colors[method])
        top = max((y + e for pts in series.values() for _, y, e in pts), default=0.0)
        ax.set_ylim(-2, min(100.0, max(10.0, top * 1.15)))  # from 0 (points at 0 stay visible), room for error bars
        ax.set_xscale("log")
        sizes = sorted({r.size for r in table.rows if r.size})
        if sizes:
            ax.set_xticks(sizes)
            ax.set_xticklabels([f"{s:g}B" for s in sizes])
            ax.minorticks_off()
            ax.set_xlim(sizes[0] / 2, sizes[-1] * 2)  # one size alone sits in the middle
        ax.set_xlabel("model size (parameters)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no complete averages", ha="center", va="center", transform=ax.transAxes, color="gray")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
