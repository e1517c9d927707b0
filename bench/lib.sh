# Shared by the end-to-end comparisons in bench/: start registries, measure processes.

testreg_pids=()

# start_registries KIND COUNT ENVFILE: runs hoist-testreg in the background until
# stop_registries; its variables (REG1, REG1_CA, ...) are in ENVFILE (see env_get).
start_registries() {
    local kind=$1 count=$2 env_file=$3
    rm -f "$env_file"
    build/release/tools/hoist-testreg --kind "$kind" --count "$count" --env-file "$env_file" \
        >/dev/null 2>&1 &
    testreg_pids+=($!)
    for _ in $(seq 200); do [ -f "$env_file" ] && return 0; sleep 0.05; done
    echo "registries did not start" >&2
    return 1
}

# env_get ENVFILE NAME: one variable of a hoist-testreg env file.
env_get() { (source "$1" && eval "echo \"\${$2}\""); }

# stop_registries [PID]: ends one hoist-testreg (the last started), or all of them.
stop_registries() {
    local pids=("${@:-${testreg_pids[@]}}")
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    done
}

# CPU seconds (user + system) the processes named NAME have used so far, from /proc.
process_cpu_seconds() {
    local name=$1 ticks=0 pid fields
    for pid in $(pgrep -x "$name" || true); do
        fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        ticks=$((ticks + $(echo "$fields" | awk '{print $12 + $13}')))
    done
    echo "scale=3; $ticks / $(getconf CLK_TCK)" | bc
}

# measure OUTFILE COMMAND...: runs COMMAND, writes "wall user sys maxrss_kb" to OUTFILE.
measure() {
    local out=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$out" "$@"
}

ratio() { echo "scale=2; $1 / $2" | bc; }

# median NUMBER...: the middle value (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
