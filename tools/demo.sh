#!/usr/bin/env bash
# The demo on a fresh Debian 12 machine: builds hoist, starts two local TLS registries
# (real docker-registry), generates a staging set (repositories x tags, half of them
# two-platform indexes, all on a shared base layer) with the thin manifests that promote
# it, runs `hoist cip --confirm`, prints the report, and runs it again to show that a
# finished promotion writes nothing.
#   tools/demo.sh        (REPOSITORIES=20 TAGS=3 SEED=1 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh

install_packages "${build_packages[@]}" docker-registry python3
configure_and_build build/release Release >/dev/null

bin=build/release/tools
work=$(mktemp -d)
cleanup() {
    [ -n "${testreg_pid:-}" ] && kill "$testreg_pid" 2>/dev/null && wait "$testreg_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$bin/hoist-testreg" --kind tls --count 2 --env-file "$work/registries.env" &
testreg_pid=$!
for _ in $(seq 100); do [ -f "$work/registries.env" ] && break; sleep 0.1; done
source "$work/registries.env"
trust=(--ca-file "$REG1_CA" --ca-file "$REG2_CA")

echo "== two TLS registries: $REG1 (staging) and $REG2 (production)"
"$bin/hoist-workload" "${trust[@]}" set "$REG1/staging" \
    --repositories "${REPOSITORIES:-20}" --tags "${TAGS:-3}" --seed "${SEED:-1}" \
    --manifest-dir "$work/promo" --destination "$REG2/prod" --destination "$REG2/mirror"
echo "== thin manifests written:"
(cd "$work/promo" && find . -type f | sort | sed 's/^/   /')

echo "== a signing key pair in cosign's format (hoist keygen)"
export COSIGN_PASSWORD=demo
"$bin/hoist" keygen --output-key-prefix "$work/cosign"

echo "== hoist cip --confirm --signing-key cosign.key"
"$bin/hoist" "${trust[@]}" cip --thin-manifest-dir "$work/promo" --confirm \
    --signing-key "$work/cosign.key" --report "$work/report.json"

echo "== the report ($work/report.json), per phase:"
python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for phase in report["phases"]:
    if phase["ran"]:
        print(f'   {phase["name"]:<10} {phase["status"]:<8} {phase["wall_seconds"]:7.3f} s '
              f'{phase["http_requests"]:6} requests  {phase["message"]}')
promote = report.get("promote", {})
print("   promote:", ", ".join(f"{k} {v}" for k, v in promote.items()))
supply = report.get("supply", {})
for what in ("signatures", "attestations"):
    print(f"   {what}:", ", ".join(f"{k} {v}" for k, v in supply.get(what, {}).items()))
PY

echo "== byte-for-byte check of one index and its tag at both ends:"
first_tag=$("$bin/hoist" "${trust[@]}" tags "$REG1/staging/img-000" | head -1)
if cmp -s <("$bin/hoist" "${trust[@]}" manifest "$REG1/staging/img-000:$first_tag") \
          <("$bin/hoist" "${trust[@]}" manifest "$REG2/prod/img-000:$first_tag"); then
    echo "   staging/img-000:$first_tag and prod/img-000:$first_tag are identical"
else
    echo "   manifests differ!" >&2
    exit 1
fi

echo "== the promoted image's signature and attestation verify with cosign.pub:"
"$bin/hoist" "${trust[@]}" verify "$REG2/prod/img-000:$first_tag" --key "$work/cosign.pub" |
    head -1 | cut -c1-160
"$bin/hoist" "${trust[@]}" verify-attestation "$REG2/prod/img-000:$first_tag" \
    --key "$work/cosign.pub" --type https://k8s.io/promo-tools/promotion/v1 | head -1 | cut -c1-160

echo "== run again: everything is present, nothing is written"
"$bin/hoist" "${trust[@]}" cip --thin-manifest-dir "$work/promo" --confirm \
    --signing-key "$work/cosign.key" | grep -E '^plan:|^\[(promote|sign|attest)\]'
echo "== requests the production registry served (from its access log):"
grep -v readiness-probe "$REG2_LOG" | grep -o '"[A-Z]* [^ ]* HTTP/[0-9.]*" [0-9]*' |
    tr -d '"' | awk '{print $1, $3, $4}' | sort | uniq -c
