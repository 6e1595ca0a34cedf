#!/usr/bin/env bash
# The main job: builds Hourglass and its benchmarks, then compares it with ConcurrentHashMap,
# Caffeine and Guava (throughput, memory per entry, hit rate) and prints the three tables.
#
#   ./bench.sh            quick comparison (a few minutes on 2 cores)
#   ./bench.sh full       the publishable settings (every shape, 1/2/4 threads, all traces)
#   ./bench.sh ci         a smoke run that proves the benchmarks still work
#   ./bench.sh quick --threads 1,8,16 --out results/big-box --trace my-keys.txt
#
# Results (JMH JSON, memory and hit-rate JSON, summary.md, SVG charts) go to results/<mode>-<time>/
# unless --out says otherwise.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-quick}"
if [ "$#" -gt 0 ]; then shift; fi
mvn -B -q -DskipTests package
export HOURGLASS_BENCH_COMMAND="./bench.sh $mode${*:+ $*}"
exec java -Xmx4g -Djdk.attach.allowAttachSelf=true \
  -cp cache-bench/target/benchmarks.jar dev.hourglass.cache.bench.BenchMain "$mode" "$@"
