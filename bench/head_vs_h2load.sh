#!/usr/bin/env bash
# Manifest HEADs against one TLS docker-registry (HTTP/2): hoist's client beside h2load,
# the leanest HTTP/2 client there is, on the same URL in the same run, at 1, 64 and 256
# requests in flight. The two alternate for ROUNDS rounds (this machine is shared and
# noisy); the table shows medians: requests/s, CPU-seconds per 10,000 requests, ratios.
#   bench/head_vs_h2load.sh            (REQUESTS=10000 ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh
source bench/lib.sh
install_packages "${build_packages[@]}" docker-registry nghttp2-client time bc procps
configure_and_build build/release Release -DHOIST_BENCH=ON >/dev/null

requests=${REQUESTS:-10000}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
trap 'stop_registries; rm -rf "$work"' EXIT
start_registries tls 1 "$work/env"
registry=$(env_get "$work/env" REG1)
trust=(--ca-file "$(env_get "$work/env" REG1_CA)")
build/release/tools/hoist-workload "${trust[@]}" push "$registry/bench/head:v1" >/dev/null
url="https://$registry/v2/bench/head/manifests/v1"
accept="accept: application/vnd.oci.image.manifest.v1+json"

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
per10k() { echo "scale=3; $1 * 10000 / $requests" | bc; }

printf '%-12s %12s %13s %7s %14s %15s %7s\n' concurrency "hoist req/s" "h2load req/s" ratio \
    "hoist cpu/10k" "h2load cpu/10k" ratio
for c in 1 64 256; do
    : >"$work/hoist.rates"; : >"$work/hoist.cpu"; : >"$work/h2load.rates"; : >"$work/h2load.cpu"
    for _ in $(seq "$rounds"); do
        measure "$work/hoist.time" build/release/bench/hoist-bench-head "${trust[@]}" \
            -n "$requests" -c "$c" "$registry/bench/head:v1" >"$work/hoist.json"
        grep -o '"requests_per_second": [0-9.]*' "$work/hoist.json" | awk '{print $2}' \
            >>"$work/hoist.rates"
        awk '{print $2 + $3}' "$work/hoist.time" >>"$work/hoist.cpu"

        measure "$work/h2load.time" h2load -n "$requests" -c 1 -m "$c" -H ':method: HEAD' \
            -H "$accept" "$url" >"$work/h2load.out"
        grep -q "$requests succeeded" "$work/h2load.out" || { cat "$work/h2load.out"; exit 1; }
        grep -o 'finished in [0-9.]*s, [0-9.]* req/s' "$work/h2load.out" | awk '{print $4}' \
            >>"$work/h2load.rates"
        awk '{print $2 + $3}' "$work/h2load.time" >>"$work/h2load.cpu"
    done
    hoist_rate=$(median <"$work/hoist.rates")
    h2load_rate=$(median <"$work/h2load.rates")
    hoist_cpu=$(median <"$work/hoist.cpu")
    h2load_cpu=$(median <"$work/h2load.cpu")
    printf '%-12s %12.1f %13.1f %7s %14s %15s %7s\n' "$c" "$hoist_rate" "$h2load_rate" \
        "$(ratio "$hoist_rate" "$h2load_rate")" "$(per10k "$hoist_cpu")" \
        "$(per10k "$h2load_cpu")" "$(ratio "$hoist_cpu" "$h2load_cpu")"
done
