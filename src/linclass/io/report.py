"""A run's report: one self-contained HTML page and a Markdown summary.

The HTML page embeds every picture as a base64 PNG data URI and carries its CSS inline,
so it can be mailed, archived or opened offline; a Content-Security-Policy forbids any
network load or script, as a second line of defence behind escaping every user string.
``report.md`` holds the same summary and tables and links the PNGs next to it.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.io.fileio import atomic_write_bytes
from linclass.plots.io import figure_to_png

FigureLike = Figure | Axes | str | os.PathLike
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# What each picture shows, in the lecture's words; keyed by the usual figure names.
CAPTIONS: dict[str, str] = {
    "templates": "Visual viewpoint: each row wₖ of W drawn as an image. The score "
    "sₖ = wₖ·x + bₖ is a dot product, so each class is matched against one template (on "
    "grey images red pixels raise the class score, blue ones lower it). One template has to "
    "cover every way the class can look, which is why templates are blurry averages.",
    "history": "Training curves. The objective (data loss + penalty) should fall quickly and "
    "then flatten; train and validation accuracy that drift apart mean overfitting, both "
    "low means underfitting (a linear model's limit, or too few steps).",
    "confusion": "Confusion matrix on held-out data: rows are true classes, columns "
    "predictions, numbers are counts. Off-diagonal cells show which classes a single "
    "template per class cannot tell apart.",
    "decision_regions": "Geometric viewpoint: on 2-D data each class score sₖ = wₖ·x + bₖ "
    "is zero along a line (a hyperplane in D dimensions) whose normal wₖ points to where "
    "the score grows. The predicted class argmaxₖ sₖ cuts the plane into convex regions.",
    "landscape": "Loss along a random line through the trained W, J(W + tD) with "
    "‖D‖ = ‖W‖. The softmax and SVM objectives are convex, so every slice is a bowl "
    "with the trained W at (or near) its bottom.",
    "landscape_2d": "Loss on a random plane through the trained W (star). Convexity shows "
    "as nested closed contours around the minimum.",
    "search": "Hyper-parameter search: validation accuracy for each learning rate and "
    "penalty strength, best setting outlined in red. Too large a learning rate diverges; "
    "too strong a penalty shrinks W until the model underfits.",
    "schedule": "Learning-rate schedule lr(step): large steps early to make progress, "
    "smaller ones later to settle into the minimum.",
}
CAPTIONS["landscape_1d"] = CAPTIONS["landscape"]

_CSS = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #222; background: #fafafa; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
h1 { font-size: 1.8rem; margin: 0.2rem 0; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #e4e4e4; padding-bottom: 0.2rem;
     margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
.meta { color: #666; font-size: 0.9rem; margin: 0; }
table { border-collapse: collapse; margin: 0.4rem 0 1rem; font-size: 0.95rem; }
th, td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #e4e4e4; text-align: left; }
th { background: #f1f3f5; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { background: none; font-weight: 600; width: 14rem; }
figure { margin: 1.2rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.95rem; margin-top: 0.4rem; max-width: 52rem; }
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# --- formatting ---------------------------------------------------------------------------


def format_value(key: str, value: Any) -> str:
    """One value as text: accuracies as percentages, times in seconds, nested dicts inline."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(str(k), v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(key, v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v, k = float(value), key.lower()
        if ("acc" in k or "precision" in k or "recall" in k or k == "f1") and 0 <= v <= 1:
            return f"{100 * v:.2f}%"
        if k.endswith(("seconds", "time", "time_s")):
            return f"{v:.2f} s"
        return f"{v:.4g}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _label(key: str) -> str:
    """``"val_accuracy"`` -> ``"Val accuracy"``: a readable heading from a dict key."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Union of the rows' keys, in order of first appearance."""
    return list(dict.fromkeys(k for row in rows for k in row))


def per_class_table(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]
) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support of every class, one dict per class.

    Precision_k = TP / (TP + FP), recall_k = TP / (TP + FN); a class never predicted has
    precision 0 (not NaN), as in scikit-learn with ``zero_division=0``.
    """
    from sklearn.metrics import precision_recall_fscore_support

    labels = np.arange(len(class_names))
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return [
        {"class": str(name), "precision": float(p[k]), "recall": float(r[k]),
         "f1": float(f[k]), "support": int(s[k])}
        for k, name in enumerate(class_names)
    ]


# --- HTML ---------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _html_table(rows: Sequence[Mapping[str, Any]]) -> str:
    cols = _columns(rows)
    head = "".join(f"<th>{_e(_label(c))}</th>" for c in cols)
    body = []
    for row in rows:
        cells = []
        for c in cols:
            v = row.get(c, "")
            cls = ' class="num"' if _is_number(v) else ""
            cells.append(f"<td{cls}>{_e(format_value(c, v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html(title: str, summary: Mapping[str, Any], tables: Mapping[str, Sequence[Mapping]],
          figures: list[tuple[str, bytes, str]], stamp: str) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">linclass run report, written {_e(stamp)}</p>',
    ]
    if summary:
        cells = "".join(
            f'<tr><th scope="row">{_e(_label(k))}</th><td>{_e(format_value(k, v))}</td></tr>'
            for k, v in summary.items()
        )
        parts.append(f'<h2>Summary</h2><table class="summary"><tbody>{cells}</tbody></table>')
    for name, rows in tables.items():
        parts.append(f"<h2>{_e(_label(name))}</h2>")
        parts.append(_html_table(rows) if rows else "<p>(empty)</p>")
    if figures:
        parts.append("<h2>Figures</h2>")
    for name, png, caption in figures:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img src="{uri}" alt="{_e(_label(name))}">'
            f"<figcaption><strong>{_e(_label(name))}.</strong> {_e(caption)}</figcaption>"
            "</figure>"
        )
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


# --- Markdown -----------------------------------------------------------------------------


def _m(value: Any) -> str:
    """Text safe inside a Markdown table cell: HTML escaped, pipes escaped, one line."""
    text = html.escape(str(value), quote=False).replace("|", "\\|")
    return " ".join(text.split())


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def _markdown(title: str, summary: Mapping[str, Any], tables: Mapping[str, Sequence[Mapping]],
              figures: list[tuple[str, str, str]], stamp: str) -> str:
    lines = [f"# {_m(title)}", "", f"linclass run report, written {stamp}", ""]
    if summary:
        lines += ["## Summary", ""]
        lines += _md_table(["", ""], [[_m(_label(k)), _m(format_value(k, v))]
                                      for k, v in summary.items()])
    for name, rows in tables.items():
        lines += [f"## {_m(_label(name))}", ""]
        cols = _columns(rows)
        lines += _md_table([_m(_label(c)) for c in cols],
                           [[_m(format_value(c, row.get(c, ""))) for c in cols] for row in rows])
    if figures:
        lines += ["## Figures", ""]
    for name, link, caption in figures:
        lines += [f"![{_m(_label(name))}]({link})", "", f"*{_m(caption)}*", ""]
    return "\n".join(lines)


# --- the report ---------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "figure"


def _read_png(path: Path) -> bytes:
    data = path.read_bytes()
    if not data.startswith(_PNG_MAGIC):
        raise ValueError(f"figure file {path} is not a PNG")
    return data


def write_report(
    run_dir: str | os.PathLike,
    *,
    title: str,
    summary: Mapping[str, Any],
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    figures: Mapping[str, FigureLike],
    captions: Mapping[str, str] | None = None,
    force: bool = False,
) -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` into ``run_dir``.

    Args:
        run_dir: The run's folder (created if missing).
        title: Page title.
        summary: Key facts shown first, e.g. dataset, loss, optimizer, hyper-parameters
            (a nested dict is shown inline), train/val/test accuracy, wall time.
        tables: Named tables, each a list of row dicts (e.g. :func:`per_class_table`).
        figures: Named pictures: a Figure or Axes, or the path of a PNG. Figures, and PNGs
            outside ``run_dir``, are also written to ``run_dir/<name>.png`` so that
            ``report.md`` can link them.
        captions: Caption per figure name; defaults to :data:`CAPTIONS` for the usual names.
        force: Overwrite existing report files and PNGs.

    Returns:
        ``(html_path, md_path)``.

    Raises:
        FileExistsError: If a file to be written exists and ``force`` is False; checked
            for every file before anything is written.
        ValueError: If a figure path is not a PNG.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    captions = {**CAPTIONS, **(captions or {})}
    html_path, md_path = run_dir / "report.html", run_dir / "report.md"

    rendered: list[tuple[str, bytes, Path | None]] = []  # name, png, where to write it
    links: dict[str, str] = {}
    used = {"report"}
    for name, fig in figures.items():
        if isinstance(fig, (Figure, Axes)):
            png, source = figure_to_png(fig), None
        else:
            source = Path(fig)
            png = _read_png(source)
        if source is not None and source.resolve().is_relative_to(run_dir.resolve()):
            rel = source.resolve().relative_to(run_dir.resolve()).as_posix()
            links[name] = urllib.parse.quote(rel)  # a space or ")" would break the link
            rendered.append((name, png, None))
            continue
        slug = _slug(name)
        while slug in used:
            slug += "-2"
        used.add(slug)
        links[name] = f"{slug}.png"
        rendered.append((name, png, run_dir / f"{slug}.png"))

    targets = [html_path, md_path] + [dest for _, _, dest in rendered if dest is not None]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise FileExistsError(f"not overwriting {', '.join(existing)}; pass force=True")

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for _, png, dest in rendered:
        if dest is not None:
            atomic_write_bytes(dest, png, force=force)
    with_captions = [(n, png, captions.get(n, "")) for n, png, _ in rendered]
    atomic_write_bytes(
        html_path, _html(title, summary, tables, with_captions, stamp).encode("utf-8"), force=force
    )
    md_figs = [(n, links[n], captions.get(n, "")) for n, _, _ in rendered]
    atomic_write_bytes(
        md_path, _markdown(title, summary, tables, md_figs, stamp).encode("utf-8"), force=force
    )
    return html_path, md_path
