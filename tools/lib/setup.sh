# Shared by tools/test.sh, tools/demo.sh and the benchmark scripts: the Debian packages
# hoist needs, installed only when missing, and the CMake build.

build_packages=(cmake ninja-build g++ pkg-config liburing-dev libboost1.81-dev libsimdjson-dev
    android-libboringssl-dev libnghttp2-dev libgtest-dev libbenchmark-dev libcli11-dev
    libyaml-cpp-dev libsodium-dev nlohmann-json3-dev)
# nodejs and npm run the independent sigstore-js verifier (tests/sigstore-js).
test_packages=(docker-registry skopeo nghttp2-client apache2-utils curl openssl ca-certificates python3 git
    nodejs npm)

# True when package $1 is installed, or an installed package provides it: NodeSource's
# nodejs provides (and conflicts with) Debian's npm, which apt would then refuse to install.
package_present() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
    local provided
    provided=$(dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null |
        sed -n 's/^install ok installed|//p' | tr ',' '\n' | sed 's/^ *//; s/ .*//')
    grep -qxF "$1" <<<"$provided"
}

install_packages() {
    local missing=()
    for p in "$@"; do
        package_present "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    echo "== installing: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# configure_and_build DIR BUILD_TYPE [cmake options...]
configure_and_build() {
    local dir=$1 type=$2
    shift 2
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
    ninja -C "$dir"
}
