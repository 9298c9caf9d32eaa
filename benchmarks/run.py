"""Speed benchmark: linclass against scikit-learn, PyTorch and the machine's own bound.

Every contender runs in its own child process (``contenders.py NAME``), one after the
other under this driver, so that peak memory is each one's own and no two compete for the
cores. The fast ones run in several interleaved rounds (``--rounds``), so that a noisy
minute on this shared machine is spread over all of them. The driver then writes a markdown
report (``benchmarks/RESULTS.md``) and the raw results next to it as JSON.

Run: ``make bench`` or ``PYTHONPATH=src python benchmarks/run.py [--quick] [--skip-slow]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import machine_info  # noqa: E402
from contenders import CONTENDERS  # noqa: E402
from report import write_report  # noqa: E402

#: Contenders expected to take longer than this (seconds, full data) are left out by
#: ``--skip-slow``: the two SGDClassifier peers (6-10 min each); LogisticRegression and
#: LinearSVC, the targets' references, always run.
SLOW_S = 100
#: Contenders expected to take at most this long run in ``--rounds`` interleaved rounds
#: (every fast contender once per round), so that a minute of machine noise lands on all
#: of them, not on one; their numbers are medians across rounds.
ROUND_MAX_S = 10
#: The scaling table: (rows of Fashion-MNIST kept, times the training set is repeated).
SCALING = [(7_500, 1), (15_000, 1), (30_000, 1), (60_000, 1), (60_000, 4), (60_000, 10)]


def run_child(name: str, dataset: str, repeats: int, *, n_train: int | None = None,
              repeat_data: int = 1, timeout: float = 1800) -> dict:
    """Run one contender in a fresh interpreter and return its result dict."""
    cmd = [sys.executable, str(HERE / "contenders.py"), name, "--dataset", dataset,
           "--repeats", str(repeats), "--repeat-data", str(repeat_data)]
    if n_train is not None:
        cmd += ["--n-train", str(n_train)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"name": name, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"name": name, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result = json.loads(lines[-1][len("RESULT "):])
    result["wall_s"] = time.perf_counter() - start
    return result


def merge_rounds(rounds: list[dict]) -> dict:
    """One result from the same contender's rounds: every timed fit pooled (the report
    takes their median), per-epoch and bound times as medians across rounds, the peak
    memory as the largest."""
    import statistics

    if len(rounds) == 1 or any("error" in r for r in rounds):
        return next((r for r in rounds if "error" in r), rounds[0])
    merged = dict(rounds[0], rounds=len(rounds))
    merged["fit_s"] = [t for r in rounds for t in r["fit_s"]]
    merged["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    merged["wall_s"] = sum(r["wall_s"] for r in rounds)
    for key in ("epoch_s", "chunked_s", "floor_s", "peak_gflops", "fullbatch_s",
                "minibatch64_s", "cpu_per_wall", "eval_s", "steps_s"):
        if merged.get(key) is not None:
            merged[key] = statistics.median(r[key] for r in rounds)
    if "minibatch_s" in merged:
        merged["minibatch_s"] = {k: statistics.median(r["minibatch_s"][k] for r in rounds)
                                 for k in merged["minibatch_s"]}
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 10,000 training images, no scaling table")
    parser.add_argument("--dataset", default="fashion-mnist",
                        help="dataset name (digits is the quick fallback)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed fits per contender whose fit is under 30 s (median kept)")
    parser.add_argument("--rounds", type=int, default=3,
                        help=f"interleaved rounds of the contenders under {ROUND_MAX_S} s")
    parser.add_argument("--skip-slow", action="store_true",
                        help=f"skip contenders expected to take over {SLOW_S} s")
    parser.add_argument("--only", nargs="+", choices=sorted(CONTENDERS), default=None,
                        help="run only these contenders")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()

    dataset, n_train = args.dataset, None
    if args.quick:
        n_train = 10_000 if dataset != "digits" else None
    names = args.only or list(CONTENDERS)
    if args.skip_slow:
        names = [n for n in names if CONTENDERS[n][2] <= SLOW_S]
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for round_ in range(1, max(args.rounds, 1) + 1):
        for name in names:
            if round_ > 1 and (CONTENDERS[name][2] > ROUND_MAX_S or "error" in runs[name][0]):
                continue
            print(f"[bench] {name} (round {round_}) ...", end=" ", flush=True)
            res = run_child(name, dataset, args.repeats, n_train=n_train)
            runs[name].append(res)
            print(res.get("error") or f"{res['wall_s']:.1f} s", flush=True)
            if "error" in res and dataset != "digits" and "not found" in res["error"]:
                sys.exit(f"{dataset} is not installed; try --dataset digits")
    results = []
    for name in names:
        res = merge_rounds(runs[name])
        res["family"] = CONTENDERS[name][1]
        results.append(res)

    scaling = []
    if not (args.quick or args.no_scaling):
        for rows, rep in SCALING:
            for name in ("linclass-softmax", "linclass-svm"):
                print(f"[bench] scaling {name} {rows} x{rep} ...", end=" ", flush=True)
                res = run_child(name, dataset, 1, n_train=rows, repeat_data=rep)
                scaling.append(res)
                print(res.get("error") or f"{res['wall_s']:.1f} s", flush=True)

    command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    meta = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": command.strip(), "machine": machine_info(),
            "load": [list(load_before), list(os.getloadavg())]}
    raw = {"meta": meta, "results": results, "scaling": scaling}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    write_report(args.out, raw)
    print(f"[bench] wrote {args.out}")


if __name__ == "__main__":
    main()
