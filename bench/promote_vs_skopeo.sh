#!/usr/bin/env bash
# A whole promotion: `hoist cip --confirm --sign=false` against
# `skopeo sync --src yaml --dest docker --preserve-digests --all` of the same images,
# each into a fresh destination docker-registry (TLS), in the same run. Reports wall time,
# CPU-seconds of the tool, CPU-seconds of the registries (from /proc), registry CPU per
# promoted image, how busy the CPUs were, peak RSS, and the no-op rerun.
#   WORKLOAD=w1 bench/promote_vs_skopeo.sh   100 repositories x 4 tags, half of them
#                                            two-platform indexes, 3 layers of 4 KiB with
#                                            one base layer shared
#   WORKLOAD=w2 bench/promote_vs_skopeo.sh   8 images x 4 layers x 64 MiB
#   TOOLS="hoist skopeo" (default), "skopeo hoist" (the other order) or one of them.
#   ROUNDS=N repeats the comparison N times (every other round in the reverse order), each
#   into fresh destination registries, and prints the median ratios: single runs of W2
#   differ by several hundredths.
#   HOIST_PREFIX="perf record -g -o /tmp/hoist.perf" runs hoist's first run under a profiler.
# For W2 it also prints the floor of the copy on this CPU (bench/kernels_bench.cpp): SHA-256
# once, AES-128-GCM twice (TLS down, TLS up) and one loopback TCP receive and send over the
# layer bytes, against skopeo's CPU-seconds. No client that copies them over TLS and checks
# every digest can cost less.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh
source bench/lib.sh
install_packages "${build_packages[@]}" docker-registry skopeo time bc procps python3
configure_and_build build/release Release -DHOIST_BENCH=ON >/dev/null

workload=${WORKLOAD:-w1}
layer_bytes=0
tools=${TOOLS:-hoist skopeo}
rounds=${ROUNDS:-1}
work=$(mktemp -d)
trap 'stop_registries; rm -rf "$work"' EXIT

case $workload in
    w1) set_flags=(--repositories 100 --tags 4 --index-every 2 --layers 2 --layer-size 4096) ;;
    w2) set_flags=(--repositories 8 --tags 1 --index-every 0 --layers 4 --layer-size $((64 << 20))
                   --parallel 2)
        layer_bytes=$((8 * 4 * (64 << 20))) ;;
    *) echo "unknown WORKLOAD $workload" >&2; exit 2 ;;
esac

start_registries tls 1 "$work/source.env"
source_reg=$(env_get "$work/source.env" REG1)
source_ca=$(env_get "$work/source.env" REG1_CA)
mkdir -p "$work/certs/src" && cp "$source_ca" "$work/certs/src/ca.crt"
echo "== $workload: pushing the staging set to $source_reg"
build/release/tools/hoist-workload --ca-file "$source_ca" set "$source_reg/staging" \
    "${set_flags[@]}" --seed 3 --manifest-dir "$work/promo" --destination DEST_PLACEHOLDER
images=$(grep -c '"sha256:' "$work/promo/images/staging/images.yaml")

# skopeo's view of the same set: repository -> tags.
python3 - "$work/promo/images/staging/images.yaml" "$source_reg" "$work/certs/src" \
    >"$work/sync.yaml" <<'PY'
import re, sys
repos = {}
name = None
for line in open(sys.argv[1]):
    m = re.match(r"- name: (\S+)", line)
    if m:
        name = m.group(1)
        repos.setdefault(name, [])
    m = re.search(r'\["([^"]+)"\]', line)
    if m and name:
        repos[name].append(m.group(1))
print(f"{sys.argv[2]}:")
print(f"  cert-dir: {sys.argv[3]}")
print("  images:")
for repo, tags in repos.items():
    print(f"    staging/{repo}: [{', '.join(tags)}]")
PY

run_tool() {
    local tool=$1 round=$2
    start_registries tls 1 "$work/dest.env"
    local dest_pid=${testreg_pids[-1]} dest dest_ca
    dest=$(env_get "$work/dest.env" REG1)
    dest_ca=$(env_get "$work/dest.env" REG1_CA)
    mkdir -p "$work/certs/dst" && cp "$dest_ca" "$work/certs/dst/ca.crt"
    sed "s|DEST_PLACEHOLDER|$dest/prod|" "$work/promo/manifests/staging/promoter-manifest.yaml" \
        >"$work/manifest.tmp"
    mkdir -p "$work/run/manifests/staging" "$work/run/images"
    cp "$work/manifest.tmp" "$work/run/manifests/staging/promoter-manifest.yaml"
    rm -rf "$work/run/images/staging" && cp -r "$work/promo/images/staging" "$work/run/images/"
    local cmd
    case $tool in
        hoist) cmd=(build/release/tools/hoist --ca-file "$source_ca" --ca-file "$dest_ca" cip
                    --confirm --sign=false --thin-manifest-dir "$work/run" --log-level warning) ;;
        skopeo) cmd=(skopeo sync --src yaml --dest docker --preserve-digests --all
                     --src-cert-dir "$work/certs/src" --dest-cert-dir "$work/certs/dst"
                     "$work/sync.yaml" "$dest/prod") ;;
    esac
    local registry_before registry_after idle_before idle_after
    # The staging push and the previous run leave gigabytes of dirty pages; whoever runs
    # while the kernel writes them back pays for it (W2: ~15% more registry CPU for the
    # first tool). Each tool starts from a clean page cache state.
    sync
    registry_before=$(process_cpu_seconds docker-registry)
    idle_before=$(awk '/^cpu /{print $5 + $6}' /proc/stat)
    local prefix=()
    if [ "$tool" = hoist ] && [ -n "${HOIST_PREFIX:-}" ]; then
        read -ra prefix <<<"$HOIST_PREFIX"
    fi
    measure "$work/$tool.time" "${prefix[@]}" "${cmd[@]}" >"$work/$tool.out" 2>&1 || { echo "$tool failed:" >&2; tail -5 "$work/$tool.out" >&2; return 1; }
    idle_after=$(awk '/^cpu /{print $5 + $6}' /proc/stat)
    registry_after=$(process_cpu_seconds docker-registry)
    measure "$work/$tool.rerun" "${cmd[@]}" >"$work/$tool.rerun.out" 2>&1
    stop_registries "$dest_pid"
    read -r wall user sys rss < <(tail -1 "$work/$tool.time")
    read -r rerun_wall _ < <(tail -1 "$work/$tool.rerun")
    local cpu registry idle_s busy
    cpu=$(echo "$user + $sys" | bc)
    registry=$(echo "$registry_after - $registry_before" | bc)
    idle_s=$(echo "scale=3; ($idle_after - $idle_before) / $(getconf CLK_TCK)" | bc)
    busy=$(echo "scale=0; 100 - 100 * $idle_s / ($wall * $(nproc))" | bc)
    printf '%-7s %8s %8s %10s %14s %7s%% %8s %10s\n' "$tool" "$wall" "$cpu" "$registry" \
        "$(echo "scale=4; $registry / $images" | bc)" "$busy" "$((rss / 1024))" "$rerun_wall"
    eval "${tool}_wall=$wall ${tool}_cpu=$cpu ${tool}_registry=$registry ${tool}_rerun=$rerun_wall"
}

echo "== $images images; each tool into a fresh destination registry"
printf '%-7s %8s %8s %10s %14s %8s %8s %10s\n' tool "wall s" "cpu s" "reg cpu s" \
    "reg cpu/image" "busy" "RSS MiB" "rerun s"
wall_ratios=()
cpu_ratios=()
skopeo_cpus=()
hoist_cpus=()
for round in $(seq "$rounds"); do
    order=$tools
    if [ $((round % 2)) = 0 ]; then
        # Every other round in the reverse order: whoever runs first meets other leftovers
        # of the staging push and the previous round.
        order=$(echo "$tools" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
    fi
    hoist_wall="" skopeo_wall=""
    for tool in $order; do
        run_tool "$tool" "$round"
    done
    if [ -n "$hoist_wall" ] && [ -n "$skopeo_wall" ]; then
        wall_ratios+=("$(ratio "$hoist_wall" "$skopeo_wall")")
        cpu_ratios+=("$(ratio "$hoist_cpu" "$skopeo_cpu")")
        hoist_cpus+=("$hoist_cpu")
        skopeo_cpus+=("$skopeo_cpu")
        echo "hoist / skopeo: wall ${wall_ratios[-1]}, cpu ${cpu_ratios[-1]}, registry cpu $(ratio "$hoist_registry" "$skopeo_registry"), no-op rerun $(ratio "$hoist_rerun" "$skopeo_rerun")"
    fi
done
if [ "${#wall_ratios[@]}" -gt 1 ]; then
    echo "median of ${#wall_ratios[@]} rounds: wall $(median "${wall_ratios[@]}"), cpu $(median "${cpu_ratios[@]}")"
fi

if [ "$layer_bytes" -gt 0 ] && [ "${#skopeo_cpus[@]}" -gt 0 ]; then
    build/release/bench/hoist_bench_kernels --benchmark_filter='BM_Sha256/1048576|BM_TlsRecord|BM_LoopbackTcp' \
        --benchmark_format=json >"$work/kernels.json" 2>/dev/null
    python3 - "$work/kernels.json" "$layer_bytes" "$(median "${skopeo_cpus[@]}")" \
        "$(median "${hoist_cpus[@]}")" <<'PY'
import json, sys
rates = {b["name"]: b["bytes_per_second"] for b in json.load(open(sys.argv[1]))["benchmarks"]}
size, skopeo, hoist = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
sha, seal, opened = (rates["BM_Sha256/1048576"], rates["BM_TlsRecordSeal"],
                     rates["BM_TlsRecordOpen"])
tcp = next(rate for name, rate in rates.items() if name.startswith("BM_LoopbackTcp"))
floor = size / sha + size / opened + size / seal + size / tcp
print(f"floor for {size / 2**30:.2f} GiB of layers: {floor:.2f} CPU-s (GB per CPU-s: SHA-256 "
      f"{sha / 1e9:.2f}, AES-128-GCM open {opened / 1e9:.2f} and seal {seal / 1e9:.2f}, "
      f"loopback TCP {tcp / 1e9:.2f}) = {floor / skopeo:.2f} of skopeo's median "
      f"{skopeo:.2f} CPU-s; hoist's median {hoist:.2f} is {hoist - floor:.2f} above it")
PY
fi
