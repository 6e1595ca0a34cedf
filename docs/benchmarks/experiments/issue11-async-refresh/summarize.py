"""Writes summary.md from jmh-1t.json and jmh-2t.json in this folder: python3 summarize.py"""
import json

rows = {}
for t in (1, 2):
    for r in json.load(open(f'jmh-{t}t.json')):
        bench = r['benchmark'].split('.')[-1]
        impl = r['params']['impl']
        alloc = r['secondaryMetrics'].get('gc.alloc.rate.norm', {}).get('score')
        rows[(bench, t, impl)] = (r['primaryMetric']['score'], r['primaryMetric']['scoreError'], alloc)


def mops(x):
    return f"{x / 1e6:.1f} M"


out = ["# Async get and refresh-heavy reads: Hourglass against Caffeine and Guava", "",
       "Generated from `jmh-1t.json` and `jmh-2t.json` in this folder by `summarize.py`; `run.txt`",
       "has the date, commit, JDK, CPU and command. One fork, 5 x 1 s warm-up, 5 x 2 s measured:",
       "the error columns are JMH's 99.9% intervals, wide on this shared 2-core machine.", "",
       "| workload | threads | Hourglass ops/s | Caffeine ops/s | Guava ops/s | Hourglass / Caffeine "
       "| Hourglass / Guava | B/op Hourglass / Caffeine / Guava |",
       "|---|---|---|---|---|---|---|---|"]
for bench in ('asyncGet', 'refreshRead'):
    for t in (1, 2):
        h, c, g = (rows.get((bench, t, i)) for i in ('HOURGLASS', 'CAFFEINE', 'GUAVA'))
        allocs = " / ".join(("%.1f" % x[2]) if x and x[2] is not None else "-" for x in (h, c, g))
        guava = f"{mops(g[0])} ± {mops(g[1])}" if g else "-"
        vs_guava = f"{h[0] / g[0]:.2f}" if g else "-"
        out.append(f"| {bench} | {t} | {mops(h[0])} ± {mops(h[1])} | {mops(c[0])} ± {mops(c[1])} "
                   f"| {guava} | {h[0] / c[0]:.2f} | {vs_guava} | {allocs} |")
open('summary.md', 'w').write("\n".join(out) + "\n")
