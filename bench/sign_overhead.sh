#!/usr/bin/env bash
# What signing and attesting add to a promotion: workload W1 (100 repositories x 4 tags,
# half of them two-platform indexes, 3 layers of 4 KiB) promoted by `hoist cip --confirm`
# twice per round, each time into a fresh TLS docker-registry: once with --sign=false,
# once with a cosign key (Sign and Attest on). Reports both wall times, the share Sign +
# Attest add, the registry CPU-seconds each run cost (the registries are the bottleneck
# here), and the registry requests of each phase per signed digest beside the minimum
# (below). The last signed run is then repeated, which writes nothing.
#   bench/sign_overhead.sh                    legacy .sig signatures (kpromo's layout)
#   FORMAT=bundle bench/sign_overhead.sh      sigstore bundle referrers instead
#   ROUNDS=N (default 1) alternates N unsigned and N signed runs and also prints the
#   median share; REPORT_DIR=DIR keeps the --report files there; SIGN_FLAGS="..." adds
#   flags to the signed runs (e.g. --max-signature-ops 200).
#   The registries keep their storage under TMPDIR (/tmp when unset): TMPDIR=/dev/shm
#   puts it in memory, which takes the disk's file-system work out of the figures.
#
# The minimum per signed digest, for a destination without signatures, on docker-registry
# (which takes no single-POST upload, so a blob costs POST + PUT). Plan's listing of the
# destination already says that no sha256-<hex>.sig or sha256-<hex> tag exists, so none
# is read:
#   Sign, legacy: upload the payload layer and the config (2 each), put the manifest: 5.
#   Sign, bundle, and Attest: upload the bundle (2), put the referrer manifest, put the
#   referrers index: 4; and once per destination repository, the empty config (one blob
#   for all) mounted into it.
#   Sign also reads the staging image's .sig where one exists, to carry its signatures
#   (Plan lists the staging repositories when Sign will run, one request each, so it
#   knows where): none in this workload, whose staging images are unsigned.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh
source bench/lib.sh
install_packages "${build_packages[@]}" docker-registry time bc procps python3
configure_and_build build/release Release -DHOIST_BENCH=ON >/dev/null

format=${FORMAT:-legacy}
work=$(mktemp -d)
trap 'stop_registries; rm -rf "$work"' EXIT
bin=build/release/tools

start_registries tls 1 "$work/source.env"
source_reg=$(env_get "$work/source.env" REG1)
source_ca=$(env_get "$work/source.env" REG1_CA)
echo "== W1: pushing the staging set to $source_reg"
"$bin/hoist-workload" --ca-file "$source_ca" set "$source_reg/staging" --repositories 100 \
    --tags 4 --index-every 2 --layers 2 --layer-size 4096 --seed 3 \
    --manifest-dir "$work/promo" --destination DEST_PLACEHOLDER
export COSIGN_PASSWORD=bench
"$bin/hoist" keygen --output-key-prefix "$work/cosign" >/dev/null

# run_cip NAME FLAGS...: a promotion into a fresh destination; the report in $work/NAME.json.
run_cip() {
    local name=$1
    shift
    start_registries tls 1 "$work/dest.env"
    local dest_pid=${testreg_pids[-1]} dest dest_ca
    dest=$(env_get "$work/dest.env" REG1)
    dest_ca=$(env_get "$work/dest.env" REG1_CA)
    rm -rf "$work/run" && mkdir -p "$work/run/manifests/staging"
    cp -r "$work/promo/images" "$work/run/"
    sed "s|DEST_PLACEHOLDER|$dest/prod|" "$work/promo/manifests/staging/promoter-manifest.yaml" \
        >"$work/run/manifests/staging/promoter-manifest.yaml"
    local cmd=("$bin/hoist" --ca-file "$source_ca" --ca-file "$dest_ca" cip --confirm
               --thin-manifest-dir "$work/run" --log-level warning "$@")
    local registry_before registry_after
    registry_before=$(process_cpu_seconds docker-registry)
    measure "$work/$name.time" "${cmd[@]}" --report "$work/$name.json" >"$work/$name.out" 2>&1 ||
        { echo "$name failed:" >&2; tail -5 "$work/$name.out" >&2; return 1; }
    registry_after=$(process_cpu_seconds docker-registry)
    echo "$registry_after - $registry_before" | bc >"$work/$name.registry"
    if [ "$name" = "signed-$rounds" ]; then
        measure "$work/rerun.time" "${cmd[@]}" --report "$work/rerun.json" >"$work/rerun.out" 2>&1
    fi
    stop_registries "$dest_pid"
}

rounds=${ROUNDS:-1}
read -ra sign_flags <<<"${SIGN_FLAGS:-}"
for ((round = 1; round <= rounds; round++)); do
    run_cip "unsigned-$round" --sign=false
    run_cip "signed-$round" --signing-key "$work/cosign.key" --signature-format "$format" \
        "${sign_flags[@]}"
done

python3 - "$work" "$format" "$rounds" <<'PY'
import json, statistics, sys
work, fmt, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(name):
    with open(f"{work}/{name}.json") as f:
        return json.load(f)
def wall(name):
    with open(f"{work}/{name}.time") as f:
        return float(f.read().split()[0])
def registry_cpu(name):
    with open(f"{work}/{name}.registry") as f:
        return float(f.read())
def phase(report, name):
    return next(p for p in report["phases"] if p["name"] == name)
shares = []
for r in range(1, rounds + 1):
    signed = load(f"signed-{r}")
    base, full = wall(f"unsigned-{r}"), wall(f"signed-{r}")
    sign, attest = phase(signed, "sign"), phase(signed, "attest")
    added = sign["wall_seconds"] + attest["wall_seconds"]
    shares.append(added / base)
    print(f"round {r}: promotion without signing {base:.2f} s wall, with Sign + Attest "
          f"({fmt}) {full:.2f} s; Sign {sign['wall_seconds']:.2f} s + Attest "
          f"{attest['wall_seconds']:.2f} s = {added:.2f} s, {100 * added / base:.0f}% of the "
          f"unsigned run (whole-process difference {100 * (full - base) / base:.0f}%)")
    reg_base, reg_full = registry_cpu(f"unsigned-{r}"), registry_cpu(f"signed-{r}")
    print(f"  registry CPU-seconds (both registries): {reg_base:.2f} without signing, "
          f"{reg_full:.2f} with; signing adds {100 * (reg_full - reg_base) / reg_base:.0f}%")
if rounds > 1:
    print(f"median share of Sign + Attest: {100 * statistics.median(shares):.0f}%")
signed, rerun = load(f"signed-{rounds}"), load("rerun")
signatures = signed["supply"]["signatures"]
attestations = signed["supply"]["attestations"]
print(f"signatures written {signatures['written']} (of {signatures['digests']} digests), "
      f"attestations written {attestations['written']}, staging signatures carried "
      f"{signatures.get('carried', 0)}")
print(f"plan: {phase(signed, 'plan')['http_requests']} requests "
      f"(without signing: {phase(load(f'unsigned-{rounds}'), 'plan')['http_requests']})")
if signatures.get("carried", 0):
    print("  (the minimums below leave out reading and copying the carried staging signatures)")
# The empty config reaches each repository in whichever phase writes a bundle there first.
repositories = len({e["destination"] for e in signed["plan"]["edges"]})
for name, count, minimum in (
        ("sign", signatures["written"],
         5 if fmt == "legacy" else 4 + repositories / max(signatures["written"], 1)),
        ("attest", attestations["written"],
         4 + (repositories / max(attestations["written"], 1) if fmt == "legacy" else 0))):
    p = phase(signed, name)
    per = p["http_requests"] / count if count else float("nan")
    print(f"  {name}: {p['http_requests']} requests, {per:.2f} per signed digest "
          f"(minimum {minimum:.2f})")
rerun_requests = sum(phase(rerun, n)["http_requests"] for n in ("sign", "attest"))
writes = sum(sum(c for s, c in statuses.items() if method in ("PUT", "POST", "PATCH"))
             for n in ("sign", "attest")
             for h in phase(rerun, n)["hosts"].values()
             for method, statuses in h["requests"].items())
print(f"rerun: {wall('rerun'):.2f} s, Sign + Attest {rerun_requests} requests, {writes} writes")
PY
if [ -n "${REPORT_DIR:-}" ]; then
    mkdir -p "$REPORT_DIR" && cp "$work"/{unsigned-*,signed-*,rerun}.json "$REPORT_DIR"/
fi
