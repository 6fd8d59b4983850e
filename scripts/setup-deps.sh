#!/usr/bin/env bash
# Installs every build, test and tooling dependency of kstt from Debian's archive.
# Idempotent and non-interactive: safe to run on every CI start. Needs root (or sudo).
# The packages are listed by area in scripts/deps/*.txt (one or more names a line, '#'
# comments), so each area keeps its own list; --with-reference adds scripts/deps/reference.list
# (the golden generator and the training scripts).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

lists=("$here"/deps/*.txt)
if [[ "${1:-}" == "--with-reference" ]]; then lists+=("$here/deps/reference.list"); fi
PKGS=()
for f in "${lists[@]}"; do
    [[ -f "$f" ]] || continue
    while read -r line; do
        line=${line%%#*}
        for p in $line; do PKGS+=("$p"); done
    done <"$f"
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup-deps: all ${#PKGS[@]} packages present"
    exit 0
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
