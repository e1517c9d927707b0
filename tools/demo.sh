#!/usr/bin/env bash
# The demo on a fresh Debian 12 machine: builds hoist, starts two local TLS registries
# (real docker-registry), pushes a small multi-arch sample image to the first, copies it
# with `hoist copy --all` to the second, and shows that every digest survived.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/setup.sh

install_packages "${build_packages[@]}" docker-registry
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
echo "== pushing a sample image (linux/amd64, linux/arm64, linux/s390x; shared base layer)"
"$bin/hoist-workload" "${trust[@]}" push "$REG1/demo/sample:v1.0" \
    --platforms linux/amd64,linux/arm64,linux/s390x --layers 2 --layer-size 65536 --base-seed 7

echo "== hoist copy --all"
"$bin/hoist" "${trust[@]}" copy --all "$REG1/demo/sample:v1.0" "$REG2/demo/sample:v1.0"

echo "== what each registry now says"
for registry in "$REG1" "$REG2"; do
    printf '%s/demo/sample:v1.0  %s\n' "$registry" \
        "$("$bin/hoist" "${trust[@]}" digest "$registry/demo/sample:v1.0")"
done
echo "== tags at the destination: $("$bin/hoist" "${trust[@]}" tags "$REG2/demo/sample" | xargs)"
echo "== the index, byte for byte as copied:"
"$bin/hoist" "${trust[@]}" manifest "$REG2/demo/sample:v1.0"
echo
if cmp -s <("$bin/hoist" "${trust[@]}" manifest "$REG1/demo/sample:v1.0") \
          <("$bin/hoist" "${trust[@]}" manifest "$REG2/demo/sample:v1.0"); then
    echo "== identical manifests at source and destination"
else
    echo "== manifests differ!" >&2
    exit 1
fi
echo "== protocol used (from the destination registry's access log):"
grep -v readiness-probe "$REG2_LOG" | grep -o '"[A-Z]* [^ ]* HTTP/[0-9.]*" [0-9]*' | awk '{print $1, $3}' | sort | uniq -c
