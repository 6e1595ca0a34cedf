#!/usr/bin/env python3
"""Hourglass/ConcurrentHashMap throughput ratios from the JMH JSON files beside this script.

For every benchmark, shape and thread count: the ratio of each run (Hourglass and CHM measured
in the same JMH run), the median over the three rounds of each build, and the change of the
after median against the before median. Prints a Markdown table.
"""
import glob
import json
import os
import sys
import statistics
from collections import defaultdict

here = os.path.dirname(os.path.abspath(__file__))
ratios = defaultdict(list)  # (build, bench, shape, threads) -> [ratio per round]
for path in sorted(glob.glob(os.path.join(sys.argv[1] if len(sys.argv) > 1 else here, '*-round*-t*.json'))):
    build = os.path.basename(path).split('-')[0]
    scores = {}
    for result in json.load(open(path)):
        bench = result['benchmark'].rsplit('.', 1)[1]
        params = result['params']
        key = (bench, params['shape'], result['threads'])
        scores.setdefault(key, {})[params['impl']] = result['primaryMetric']['score']
    for key, by_impl in scores.items():
        ratios[(build,) + key].append(by_impl['HOURGLASS'] / by_impl['CHM'])

print('| benchmark | shape | threads | before (3 runs) | after (3 runs) | median before | median after | change |')
print('|---|---|---|---|---|---|---|---|')
for bench, shape, threads in sorted({k[1:] for k in ratios}):
    before = ratios[('before', bench, shape, threads)]
    after = ratios[('after', bench, shape, threads)]
    mb, ma = statistics.median(before), statistics.median(after)
    print(f'| {bench} | {shape} | {threads} | {", ".join(f"{r:.3f}" for r in before)} | '
          f'{", ".join(f"{r:.3f}" for r in after)} | {mb:.3f} | {ma:.3f} | {100 * (ma / mb - 1):+.1f}% |')
