#!/usr/bin/env bash
# `hoist copy --all` of a 512 MiB two-platform image between two TLS docker-registries,
# beside `skopeo copy --all --preserve-digests` of the same image in the same run, each
# into a fresh destination registry. Reports wall time, CPU-seconds, peak RSS and the
# CPU-seconds the destination registry spent.
#   bench/copy_vs_skopeo.sh            (LAYER_MIB=128, ROUNDS=1 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh
source bench/lib.sh
install_packages "${build_packages[@]}" docker-registry skopeo time bc procps
configure_and_build build/release Release -DHOIST_BENCH=ON >/dev/null

layer_mib=${LAYER_MIB:-128}
rounds=${ROUNDS:-1}
work=$(mktemp -d)
trap 'stop_registries; rm -rf "$work"' EXIT

# The source: two platforms × two random layers of LAYER_MIB each.
start_registries tls 1 "$work/source.env"
source_reg=$(env_get "$work/source.env" REG1)
source_ca=$(env_get "$work/source.env" REG1_CA)
mkdir -p "$work/certs/src"
cp "$source_ca" "$work/certs/src/ca.crt"
echo "pushing the source image ($((4 * layer_mib)) MiB)..."
build/release/tools/hoist-workload --ca-file "$source_ca" push "$source_reg/bench/big:v1" \
    --platforms linux/amd64,linux/arm64 --layers 2 --layer-size $((layer_mib << 20))

# Each copy goes to a destination registry started for it alone.
run_copy() {
    local tool=$1
    start_registries tls 1 "$work/dest.env"
    local dest_pid=${testreg_pids[-1]}
    local dest dest_ca
    dest=$(env_get "$work/dest.env" REG1)
    dest_ca=$(env_get "$work/dest.env" REG1_CA)
    mkdir -p "$work/certs/dst" && cp "$dest_ca" "$work/certs/dst/ca.crt"
    local registry_cpu_before registry_cpu_after
    sync  # dirty pages of the source push or the previous copy: nobody's cost but theirs
    registry_cpu_before=$(process_cpu_seconds docker-registry)
    case $tool in
        hoist)
            measure "$work/$tool.time" build/release/tools/hoist --ca-file "$source_ca" \
                --ca-file "$dest_ca" copy --all "$source_reg/bench/big:v1" "$dest/bench/big:v1" \
                >"$work/$tool.out" ;;
        skopeo)
            measure "$work/$tool.time" skopeo copy --all --preserve-digests \
                --src-cert-dir "$work/certs/src" --dest-cert-dir "$work/certs/dst" \
                "docker://$source_reg/bench/big:v1" "docker://$dest/bench/big:v1" \
                >"$work/$tool.out" ;;
    esac
    registry_cpu_after=$(process_cpu_seconds docker-registry)
    local copied
    copied=$(build/release/tools/hoist --ca-file "$dest_ca" digest "$dest/bench/big:v1")
    stop_registries "$dest_pid"
    read -r wall user sys rss <"$work/$tool.time"
    echo "$tool $wall $(echo "$user + $sys" | bc) $((rss / 1024)) $(echo "$registry_cpu_after - $registry_cpu_before" | bc) $copied"
}

source_digest=$(build/release/tools/hoist --ca-file "$source_ca" digest "$source_reg/bench/big:v1")
printf '%-8s %10s %12s %14s %18s  %s\n' tool "wall s" "cpu s" "peak RSS MiB" "registries cpu s" "digest"
for round in $(seq "$rounds"); do
    for tool in skopeo hoist; do
        read -r name wall cpu rss registry digest <<<"$(run_copy "$tool")"
        printf '%-8s %10s %12s %14s %18s  %s\n' "$name" "$wall" "$cpu" "$rss" "$registry" \
            "$([ "$digest" = "$source_digest" ] && echo preserved || echo "DIFFERS: $digest")"
        eval "${tool}_wall=$wall"
    done
    echo "round $round: hoist wall / skopeo wall = $(ratio "$hoist_wall" "$skopeo_wall")"
done
