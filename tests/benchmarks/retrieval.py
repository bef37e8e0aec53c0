"""Retrieval speed on the embedded corpus (a script, not a test): BM25 and dense.

For each backend, in its own child process (so peak memory is that backend's alone):
index build time (no cache), cache load time, peak RSS, single-query p50/p95 latency
(`search(q, 3)`, one query at a time), and batched throughput (`search_batch`, 3 passages each).
Queries: the HotpotQA test questions (cycled).

    .venv/bin/python tests/benchmarks/retrieval.py                       # both backends
    .venv/bin/python tests/benchmarks/retrieval.py --backend bm25
    .venv/bin/python tests/benchmarks/retrieval.py --dense-passages 1000 # dense on a subset (full build: minutes to hours on 2 shared cores)
    options: --queries N (single-query timing) --batch N (batched timing) --threads N (torch)

Targets: BM25 p50 <= 5 ms, batched >= 1000 queries/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def questions(n: int) -> list[str]:
    try:
        from agentdistill.tasks._core.data import load_samples

        qs = [str(s.input) for s in load_samples("hotpotqa")]
    except Exception:  # noqa: BLE001 - the benchmark still runs without the task data
        qs = ["Who was Milhouse named after?", "How long is the Mount Panorama Circuit?",
              "Which dynasty did Adud al-Dawla rule?", "Who directed Jaws?"]
    return [qs[i % len(qs)] + ("" if i < len(qs) else f" {i}") for i in range(n)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(backend: str, n_queries: int, batch: int, dense_passages: int | None, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from agentdistill.solvers.retrieval.corpus import Corpus, embedded_corpus

    corpus = embedded_corpus()
    rss_corpus = peak_rss_mb()
    note = ""
    with tempfile.TemporaryDirectory() as cache:
        if backend == "bm25":
            from agentdistill.solvers.retrieval.bm25 import BM25Retriever

            t0 = time.perf_counter()
            retriever = BM25Retriever(corpus, cache_root=cache)
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            BM25Retriever(corpus, cache_root=cache)
            load = time.perf_counter() - t0
        else:
            from agentdistill.solvers.retrieval.dense import DenseRetriever, Encoder

            encoder = Encoder()
            if dense_passages and dense_passages < len(corpus):
                corpus = Corpus.from_passages(corpus.passages[:dense_passages], name=f"first{dense_passages}")
                note = f"subset: first {dense_passages} of 23871 passages"
            t0 = time.perf_counter()
            retriever = DenseRetriever.over_corpus(corpus, encoder=encoder, cache_root=cache)
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            DenseRetriever.over_corpus(corpus, encoder=encoder, cache_root=cache)
            load = time.perf_counter() - t0
        qs = questions(max(n_queries, batch))
        retriever.search(qs[0], 3)  # warm-up
        lat = []
        for q in qs[:n_queries]:
            t0 = time.perf_counter()
            retriever.search(q, 3)
            lat.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        retriever.search_batch(qs[:batch], 3)
        qps = batch / (time.perf_counter() - t0)
    quantiles = statistics.quantiles(lat, n=20)
    out = {"backend": backend, "passages": len(corpus), "build_s": round(build, 2), "cache_load_s": round(load, 3),
           "peak_rss_mb": round(peak_rss_mb(), 1), "corpus_rss_mb": round(rss_corpus, 1),
           "p50_ms": round(statistics.median(lat), 3), "p95_ms": round(quantiles[18], 3),
           "batched_qps": round(qps, 1), "single_queries": n_queries, "batch": batch, "torch_threads": threads}
    if backend == "dense":
        out["passages_per_s"] = round(len(corpus) / max(build, 1e-9), 1)
        out["full_build_estimate_s"] = round(23871 / out["passages_per_s"], 0)
        out["note"] = note
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["bm25", "dense", "both"], default="both")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--dense-queries", type=int, default=50)
    parser.add_argument("--dense-batch", type=int, default=256)
    parser.add_argument("--dense-passages", type=int, default=1000,
                        help="dense index over the first N passages (0: all 23,871)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a loaded 2-core machine 2 OpenMP threads ran ~10x slower)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        dense = args.backend == "dense"
        result = measure(args.backend, args.dense_queries if dense else args.queries,
                         args.dense_batch if dense else args.batch, args.dense_passages or None, args.threads)
        print("RESULT " + json.dumps(result))
        return 0
    results = []
    for backend in (["bm25", "dense"] if args.backend == "both" else [args.backend]):
        cmd = [sys.executable, __file__, "--child", "--backend", backend] + [
            f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k not in ("backend", "child")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"{backend}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            return 1
        results.append(json.loads(lines[-1][len("RESULT "):]))
    print(f"{'backend':<8}{'passages':>9}{'build s':>9}{'load s':>8}{'peak MB':>9}{'p50 ms':>9}{'p95 ms':>9}{'batch q/s':>11}")
    for r in results:
        print(f"{r['backend']:<8}{r['passages']:>9}{r['build_s']:>9}{r['cache_load_s']:>8}{r['peak_rss_mb']:>9}"
              f"{r['p50_ms']:>9}{r['p95_ms']:>9}{r['batched_qps']:>11}")
    for r in results:
        if r["backend"] == "bm25":
            ok = r["p50_ms"] <= 5 and r["batched_qps"] >= 1000
            print(f"bm25 targets (p50 <= 5 ms, >= 1000 q/s): {'met' if ok else 'NOT met'}")
        if r["backend"] == "dense":
            print(f"dense: {r['note'] or 'full corpus'}; {r['passages_per_s']} passages/s encoding -> full 23,871-passage "
                  f"build ~{r['full_build_estimate_s']:.0f} s at this rate")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
