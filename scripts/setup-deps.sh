#!/usr/bin/env bash
# Installs every build, test and tooling dependency of kstt from Debian's archive.
# Idempotent and non-interactive: safe to run on every CI start. Needs root (or sudo).
set -euo pipefail

PKGS=(
    build-essential cmake ninja-build pkg-config git
    clang llvm libclang-rt-14-dev           # sanitizer build and libFuzzer
    libsndfile1-dev libsoxr-dev libmpg123-dev  # audio files and resampling
    libcjson-dev                            # model config
    libcurl4-openssl-dev                    # model download
    python3                                 # test helpers (local HTTP server, fixture scripts)
)
# Optional extras: --with-reference adds what the golden generator and training scripts need.
if [[ "${1:-}" == "--with-reference" ]]; then
    PKGS+=(python3-torch python3-numpy python3-sentencepiece sentencepiece espeak-ng sox
           fortunes wordnet-base libespeak-ng-dev espeak-ng-data)
fi

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
