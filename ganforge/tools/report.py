"""A run, at a glance: a self-contained HTML report, and a side-by-side comparison of runs.

The report embeds everything as data URIs (sample grids over time, loss and metric
curves drawn with matplotlib, an interpolation strip), so it opens from disk in any
browser with no server and no network. ``compare`` reads the same files: the last
losses, the last in-training evaluation and the results of ``ganforge eval``
(``eval-EXTRACTOR.json`` in the run directory).
"""

from __future__ import annotations

import base64
import html
import io
import json
import tempfile
from pathlib import Path

from ganforge.artifacts import rundir
from ganforge.artifacts.checkpoint import atomic_write
from ganforge.errors import GanforgeError

NOT_LOSSES = {"step", "epoch", "images_per_sec", "eval", "time"}  # logged figures that are not curves of a loss


def read_run(run_dir) -> dict:
    """Configuration, log lines (training and evaluation), sample grids and saved evaluations."""
    run = Path(run_dir)
    config = rundir.read_config(run)
    lines = rundir.read_metrics(run)
    evaluations = rundir.read_evaluations(run)
    return {"run": run, "config": config, "train": [m for m in lines if not m.get("eval")],
            "eval": [m for m in lines if m.get("eval")], "samples": rundir.sample_grids(run),
            "evaluations": evaluations}


def final_metrics(info: dict) -> dict[str, float]:
    """The figures a run ends with: last losses, last in-training evaluation, ``ganforge eval`` results."""
    out = {}
    if info["train"]:
        out.update({k: v for k, v in info["train"][-1].items() if k not in NOT_LOSSES - {"step"}})
    if info["eval"]:
        out.update({k: v for k, v in info["eval"][-1].items() if k not in ("eval", "step")})
    for key, result in info["evaluations"].items():
        c = result.get("config", {})
        # eval-EXTRACTOR.json is the run's G.ckpt against its training split; others say what they scored
        label = key if key == c.get("extractor", key) else (
            f"{c.get('extractor')}, {c.get('file') or Path(str(c.get('source', '?'))).name} vs {c.get('real', '?')}")
        out.update({f"{k} (eval, {label})": v for k, v in result["metrics"].items() if isinstance(v, (int, float))})
    return out


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _curves(lines: list[dict], title: str, began: float | None = None) -> str | None:
    """Each figure of ``lines`` against the step, or with ``began`` (a Unix time) against the
    minutes of wall time since then."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for m in lines for k, v in m.items() if k not in NOT_LOSSES and isinstance(v, (int, float))})
    if not keys:
        return None
    figure, axes = plt.subplots(len(keys), 1, figsize=(7, 1.9 * len(keys)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        points = [((m["time"] - began) / 60 if began is not None else m["step"], m[key]) for m in lines
                  if key in m and (began is None or "time" in m)]
        ax.plot([p[0] for p in points], [p[1] for p in points], lw=1.2)
        ax.set_ylabel(key, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("step" if began is None else "minutes of wall time since the run began")
    encoded = _png(figure)
    plt.close(figure)
    return encoded


def _image(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _interpolation(run: Path) -> str | None:
    from ganforge.tools.latent import interpolate

    try:
        with tempfile.TemporaryDirectory() as tmp:
            written = interpolate(run, Path(tmp) / "walk.png", rows=4, steps=10)
            return _image(written["grid"])
    except GanforgeError:
        return None  # image-to-image and text generators have no z to walk


def report(run_dir, out=None, *, max_grids: int = 8) -> Path:
    """Write ``report.html`` (or ``out``) for a run and return its path."""
    info = read_run(run_dir)
    run, config = info["run"], info["config"]
    out = Path(out) if out else run / "report.html"
    grids = info["samples"]
    if len(grids) > max_grids:  # evenly spaced, always with the first and the last
        grids = [grids[round(i * (len(grids) - 1) / (max_grids - 1))] for i in range(max_grids)]
    esc = html.escape
    parts = [f"<h1>{esc(config.get('recipe', 'run'))}: {esc(str(run))}</h1>"]
    metrics = final_metrics(info)
    if metrics:
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{v:.6g}</td></tr>" if isinstance(v, (int, float)) else
                       f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>" for k, v in metrics.items())
        parts.append(f"<h2>Final metrics</h2><table>{rows}</table>")
    if grids:
        cells = "".join(f"<figure><img alt='samples at {esc(g.stem)}' src='data:image/png;base64,{_image(g)}'>"
                        f"<figcaption>{esc(g.stem.replace('step_', 'step '))}</figcaption></figure>" for g in grids)
        parts.append(f"<h2>Samples over time</h2><div class='grids'>{cells}</div>")
    for title, lines in (("Losses", info["train"]), ("Evaluation", info["eval"])):
        plot = _curves(lines, title) if lines else None
        if plot:
            parts.append(f"<h2>{title}</h2><img alt='{title.lower()} curves' src='data:image/png;base64,{plot}'>")
    timed = [m["time"] for m in info["train"] + info["eval"] if "time" in m]
    if len([m for m in info["eval"] if "time" in m]) > 1:  # evaluated along the way: quality for the minutes spent
        plot = _curves(info["eval"], "Evaluation against wall time", began=min(timed))
        if plot:
            parts.append("<h2>Evaluation against wall time</h2><p>Minutes since the run's first log line (a resumed "
                         "run's pause included).</p>"
                         f"<img alt='evaluation against wall time' src='data:image/png;base64,{plot}'>")
    if (run / rundir.GENERATOR).is_file():
        strip = _interpolation(run)
        if strip:
            parts.append("<h2>Latent interpolation</h2><p>Each row walks on the sphere between two random codes.</p>"
                         f"<img alt='interpolation' src='data:image/png;base64,{strip}'>")
    parts.append(f"<h2>Configuration</h2><pre>{esc(json.dumps(config, indent=2))}</pre>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ganforge report: {esc(str(run))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; }} td {{ border-bottom: 1px solid #ddd; padding: 0.2em 1em 0.2em 0; }}
.grids {{ display: flex; flex-wrap: wrap; gap: 1em; }} figure {{ margin: 0; }}
figure img {{ width: 14em; image-rendering: pixelated; }} figcaption {{ font-size: 0.8em; color: #666; }}
pre {{ background: #f6f6f6; padding: 1em; overflow: auto; }}
</style></head><body>
{chr(10).join(parts)}
</body></html>
"""
    atomic_write(out, page.encode())
    return out


def compare(run_dirs) -> list[dict]:
    """One row per run: recipe, steps and its final metrics."""
    rows = []
    for run_dir in run_dirs:
        info = read_run(run_dir)
        rows.append({"run": str(info["run"]), "recipe": info["config"].get("recipe"), **final_metrics(info)})
    return rows
