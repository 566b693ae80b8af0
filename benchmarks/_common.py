"""Helpers shared by the benchmark scripts."""

import argparse
import ast
import json
from pathlib import Path


def parse_override(text):
    """``key=value`` on the command line -> (key, Python literal or string)."""
    key, sep, value = text.partition("=")
    if not key or not sep:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def report(results, path, **meta):
    """Print each model's worst seed and write ``meta`` plus the per-seed
    results of :func:`skgmvae.__main__.compare_models` to ``path`` as JSON."""
    for name, rows in results.items():
        print(f"{name:<16} worst seed accuracy {rows[:, 0].min():.3f}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **meta,
        "columns": ["accuracy", "nmi", "ari", "fit_seconds"],
        "results": {k: v.tolist() for k, v in results.items()},
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {path}")
