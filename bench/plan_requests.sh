#!/usr/bin/env bash
# Requests per edge of `hoist cip` planning (a dry run) for a synthetic staging set
# promoted to two destination paths, against the least any plan could ask (one listing
# per repository plus one HEAD per destination tag whose digest the listing does not
# give), first into empty destinations, then into destinations that already hold it all.
#   bench/plan_requests.sh      (REPOSITORIES=100 TAGS=4 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh
source bench/lib.sh
install_packages "${build_packages[@]}" docker-registry time bc procps python3
configure_and_build build/release Release -DHOIST_BENCH=ON >/dev/null

repositories=${REPOSITORIES:-100}
tags=${TAGS:-4}
work=$(mktemp -d)
trap 'stop_registries; rm -rf "$work"' EXIT

start_registries tls 2 "$work/regs.env"
src=$(env_get "$work/regs.env" REG1)
dst=$(env_get "$work/regs.env" REG2)
trust=(--ca-file "$(env_get "$work/regs.env" REG1_CA)" --ca-file "$(env_get "$work/regs.env" REG2_CA)")
set_flags=(--repositories "$repositories" --tags "$tags" --index-every 2 --seed 11)

build/release/tools/hoist-workload "${trust[@]}" set "$src/staging" "${set_flags[@]}" \
    --manifest-dir "$work/promo" --destination "$dst/prod-a" --destination "$dst/prod-b"

plan() {
    local name=$1
    measure "$work/$name.time" build/release/tools/hoist "${trust[@]}" cip \
        --thin-manifest-dir "$work/promo" --report "$work/$name.json" >"$work/$name.out" || true
    python3 - "$work/$name.json" "$work/$name.time" "$name" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))["plan"]
wall = open(sys.argv[2]).read().split()[0]
s, r = plan["summary"], plan["requests"]
edges = s["edges"]
print(f"{sys.argv[3]:<22} edges {edges:5}  promote {s['promote']:5}  present {s['present']:5}  "
      f"listings {r['listings']:4}  HEADs {r['heads']:5}  HTTP {r['http_requests']:5}  "
      f"per edge {(r['listings'] + r['heads']) / edges:.3f}  minimum {r['minimum'] / edges:.3f}  "
      f"wall {wall} s")
PY
}

plan "empty destinations"
# The same set (same seed, same digests) pushed to both destinations: all present.
for path in prod-a prod-b; do
    build/release/tools/hoist-workload "${trust[@]}" set "$dst/$path" "${set_flags[@]}" >/dev/null
done
plan "full destinations"
