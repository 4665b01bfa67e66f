#!/usr/bin/env bash
# Whole-process timing of `khutulun tosca compile` (issue 15), printed as Markdown for
# benches/RESULTS.md: a generated service of N node templates (benches/support/service.rs:
# requirements, properties with functions, derived types) is written to a file, then hyperfine
# times side by side, in one run:
#   - the parse floor: examples/yaml_parse.rs reads the file and parses it with the YAML
#     parser `khutulun tosca` uses (src/tosca/yaml.rs), and exits;
#   - `khutulun tosca compile --format json FILE` (the topology);
#   - `khutulun tosca compile --instantiate --format json FILE` (the instances);
#   - the same two commands of KHUTULUN_BEFORE, when set (e.g. main's binary);
#   - with PYYAML=1, PyYAML composing the same file with its C parser, when python3 has it
#     (context only, not a bar; it takes seconds per run).
# Every command's output goes to /dev/null (hyperfine's default). The table gives each mean
# and its ratio to the parse floor's mean. The bars: the instantiation under 1 s, and under
# 3x the floor.
#
# Usage: benches/tosca-cli.sh [N]   (default 10000)
# Settings: RUNS (default 10, after 2 warm-up runs), KHUTULUN_BIN (default: build this
# tree's release binary), KHUTULUN_EXAMPLES (a directory holding the release builds of the
# tosca_profile and yaml_parse examples; default: build them), KHUTULUN_BEFORE (a second
# khutulun binary to time beside it), KEEP (a path to copy the generated service to), PYYAML
# (1: add the PyYAML context line).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

n="${1:-10000}"
runs="${RUNS:-10}"
work="$(mktemp -d /tmp/khutulun-bench-tosca-cli.XXXXXX)"
trap 'rm -rf "$work"' EXIT

command -v hyperfine >/dev/null 2>&1 || ensure_packages hyperfine

khutulun="$(release_binary)"
examples="${KHUTULUN_EXAMPLES:-}"
if [ -z "$examples" ]; then
    say "building the tosca_profile and yaml_parse examples"
    cargo build --quiet --release --example tosca_profile --example yaml_parse
    examples="$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/examples"
fi

service="$work/service-$n.yaml"
"$examples/tosca_profile" "$n" write "$service"
if [ -n "${KEEP:-}" ]; then
    cp "$service" "$KEEP"
fi
say "timing on a service of $n node templates ($(wc -c <"$service") bytes), $runs runs each"

names=("parse floor (yaml_parse)" "compile --format json" "compile --instantiate --format json")
commands=(
    "$examples/yaml_parse $service"
    "$khutulun tosca compile --format json $service"
    "$khutulun tosca compile --instantiate --format json $service"
)
if [ -n "${KHUTULUN_BEFORE:-}" ]; then
    names+=("before: compile --format json" "before: compile --instantiate --format json")
    commands+=(
        "$KHUTULUN_BEFORE tosca compile --format json $service"
        "$KHUTULUN_BEFORE tosca compile --instantiate --format json $service"
    )
fi
if [ "${PYYAML:-0}" = 1 ] && python3 -c 'import yaml; yaml.CLoader' >/dev/null 2>&1; then
    names+=("context: PyYAML compose (CLoader)")
    commands+=("python3 -c 'import sys, yaml; yaml.compose(open(sys.argv[1]), Loader=yaml.CLoader)' $service")
fi

# Each command once first, so that a failing one stops the bench instead of being timed.
for command in "${commands[@]}"; do
    eval "$command" >/dev/null
done

hyperfine_args=()
for i in "${!commands[@]}"; do
    hyperfine_args+=(--command-name "${names[$i]}" "${commands[$i]}")
done
hyperfine --shell=none --warmup 2 --runs "$runs" --style basic \
    --export-json "$work/times.json" "${hyperfine_args[@]}" >&2

python3 - "$work/times.json" <<'PYTHON'
import json
import sys

results = json.load(open(sys.argv[1]))["results"]
floor = results[0]
print("| command | mean (ms) | ± σ (ms) | median (ms) | user + sys (ms) | mean / floor |")
print("|---|---|---|---|---|---|")
for r in results:
    print(
        f"| {r['command']} | {r['mean'] * 1000:.0f} | {r['stddev'] * 1000:.0f} "
        f"| {r['median'] * 1000:.0f} | {(r['user'] + r['system']) * 1000:.0f} "
        f"| {r['mean'] / floor['mean']:.2f}x |"
    )
for r in results:
    if r["command"] == "compile --instantiate --format json":
        under_1s = "met" if r["mean"] < 1.0 else "NOT met"
        under_3x = "met" if r["mean"] < 3 * floor["mean"] else "NOT met"
        print()
        print(
            f"Bars for `compile --instantiate --format json`: under 1 s {under_1s} "
            f"({r['mean']:.3f} s); under 3x the parse floor {under_3x} "
            f"({r['mean'] / floor['mean']:.2f}x)."
        )
PYTHON
