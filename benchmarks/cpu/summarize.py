#!/usr/bin/env python3
"""Medians over rounds of benchmarks/cpu/side-by-side.sh's log, at each side's best thread count, and the ratios of
NetDsl ("now") to ONNX Runtime (inference) and TorchSharp (training) that issue 14's targets are stated in.

    python3 benchmarks/cpu/summarize.py /tmp/side-by-side.log
"""
import collections
import re
import statistics
import sys

METRICS = ("infer_b1_us", "infer_b256_sps", "train_b64_sps", "infer_b256_gflops", "train_b64_gflops_3x")
# (net, metric, peer, target): the targets
TARGETS = [
    ("FashionCnn", "infer_b1_us", "onnxruntime", 1.25), ("FashionCnn", "infer_b256_sps", "onnxruntime", 1.25),
    ("LeNet5", "infer_b1_us", "onnxruntime", 2.0), ("LeNet5", "infer_b256_sps", "onnxruntime", 1.5),
    ("FashionCnn", "train_b64_sps", "torchsharp", 2.5), ("LeNet5", "train_b64_sps", "torchsharp", 5.0),
]


def main(path):
    rows = collections.defaultdict(list)
    for line in open(path, encoding="utf-8"):
        if not line.startswith("round="):
            continue
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if kv.get("metric") not in METRICS:
            continue
        side = kv["peer"] if kv["peer"] != "netdsl" else "netdsl-" + kv.get("build", "now")
        try:
            rows[(side, kv["net"], kv["metric"], kv.get("threads", "?"))].append(float(kv["value"]))
        except ValueError:
            print(f"summarize: not a number in: {line.strip()}", file=sys.stderr)
    if not rows:
        sys.exit(f"summarize: no 'round=' lines with a known metric in {path}")
    best = {}
    for (side, net, metric, threads), values in rows.items():
        median = statistics.median(values)
        lower_is_better = metric.endswith("_us")
        key = (side, net, metric)
        if key not in best or (median < best[key][0] if lower_is_better else median > best[key][0]):
            best[key] = (median, threads, min(values), max(values), len(values))
    print(f"{'side':16} {'net':10} {'metric':20} {'median':>10} {'threads':>7} {'min':>10} {'max':>10} {'spread':>7} rounds")
    for (side, net, metric), (median, threads, lo, hi, n) in sorted(best.items()):
        spread = (hi - lo) / hi if hi else 0.0
        print(f"{side:16} {net:10} {metric:20} {median:10.4g} {threads:>7} {lo:10.4g} {hi:10.4g} {spread:7.1%} {n}")
    print()
    for net, metric, peer, target in TARGETS:
        ours, theirs = best.get(("netdsl-now", net, metric)), best.get((peer, net, metric))
        if ours is None or theirs is None:
            print(f"{net} {metric}: no figure for {'NetDsl' if ours is None else peer}")
            continue
        ratio = theirs[0] / ours[0] if metric.endswith("_us") else ours[0] / theirs[0]
        print(f"{net:10} {metric:15} NetDsl {ours[0]:10.4g} vs {peer} {theirs[0]:10.4g}: {ratio:5.2f}x "
              f"(target {target}x: {'met' if ratio >= target else 'not met'})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py LOG")
    main(sys.argv[1])
