#!/usr/bin/env bash
# Loading the k8s.io manifests (75 projects, 2.2 MB of YAML): `hoist cip --parse-only`
# (parse, validate every rule, compute all ~720,000 edges) beside python3 + PyYAML's C
# loader (yaml.CSafeLoader) only parsing the same files, in the same run. Prints the
# median wall time of ROUNDS runs of each, and the in-process parse + validate time
# from the kernel benchmark.
#   bench/parse_vs_pyyaml.sh      (ROUNDS=7 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh
source bench/lib.sh
install_packages "${build_packages[@]}" python3 python3-yaml time bc
configure_and_build build/release Release -DHOIST_BENCH=ON >/dev/null

rounds=${ROUNDS:-7}
corpus=tests/data/k8sio
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/load.py" <<'PY'
import os, sys, yaml
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith(".yaml"):
            with open(os.path.join(root, name), "rb") as f:
                yaml.load(f, Loader=yaml.CSafeLoader)
PY

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

for _ in $(seq "$rounds"); do
    # The corpus holds two real defects: hoist reports them and exits 2 after the full load.
    measure "$work/t" build/release/tools/hoist cip --parse-only --thin-manifest-dir "$corpus" \
        >/dev/null 2>&1 || true
    tail -1 "$work/t" | awk '{print $1}' >>"$work/hoist"
    measure "$work/t" python3 "$work/load.py" "$corpus"
    tail -1 "$work/t" | awk '{print $1}' >>"$work/python"
done
hoist_s=$(median <"$work/hoist")
python_s=$(median <"$work/python")
echo "whole process, median of $rounds:"
echo "  hoist cip --parse-only (parse, validate, edges)   ${hoist_s} s"
echo "  python3 + PyYAML CSafeLoader (parse only)         ${python_s} s"
echo "  ratio hoist / python                              $(ratio "$hoist_s" "$python_s")"
echo "in process (parse + validate, no edges):"
build/release/bench/hoist_bench_kernels --benchmark_filter='LoadK8sCorpus|ComputeK8sEdges' \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
    grep -E "median"
