#!/usr/bin/env bash
# Swift bindings (bindings/swift): `swift build` + `swift test` in a Debian 13 (trixie) chroot
# against the freshly built libkstt. Swift is not in Debian 12; swiftlang 6.0.3 from trixie needs
# glibc 2.38, hence the chroot. The chroot is kept between runs (CI machines are reused) in
# $KSTT_SWIFT_CHROOT (default /var/cache/kstt-swift-chroot); from scratch it takes ~4-5 min
# (debootstrap ~2.5 min, swiftlang ~1.5 min, 3.3 GB). Needs root.
#   .ci/stage-swift.sh            build kstt (build-swift), install it, run swift build/test
#   .ci/stage-swift.sh --setup    only create the chroot
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
chroot_dir=${KSTT_SWIFT_CHROOT:-/var/cache/kstt-swift-chroot}
mirror=${KSTT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
build=${KSTT_SWIFT_BUILD:-$root/build-swift}
# kstt.pc's Requires.private must resolve for `pkg-config --cflags kstt` (SwiftPM runs it): the
# -dev packages of libkstt's dependencies bring their .pc files and the runtime libraries.
pkgs="swiftlang libc6-dev libstdc++-14-dev pkg-config libcjson-dev libsndfile1-dev libsoxr-dev"

in_chroot_apt() {
    local rc=0
    mount -t proc proc "$1/proc"
    nice -n 10 chroot "$1" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
        sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs \
               && apt-get clean" >/dev/null || rc=$?
    umount "$1/proc"
    return $rc
}

setup_chroot() {
    if [ -f "$chroot_dir/.kstt-ready" ]; then
        # a chroot made by an older version of this script may lack a package of the list
        # shellcheck disable=SC2086
        chroot "$chroot_dir" dpkg -s $pkgs >/dev/null 2>&1 || in_chroot_apt "$chroot_dir"
        return 0
    fi
    command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap
    echo "swift: creating the trixie chroot in $chroot_dir (takes a few minutes)"
    rm -rf "$chroot_dir.tmp"
    mkdir -p "$(dirname "$chroot_dir")"
    nice -n 10 debootstrap --variant=minbase trixie "$chroot_dir.tmp" "$mirror" >/dev/null
    in_chroot_apt "$chroot_dir.tmp"
    touch "$chroot_dir.tmp/.kstt-ready"
    rm -rf "$chroot_dir"
    mv "$chroot_dir.tmp" "$chroot_dir"
}

setup_chroot
[ "${1:-}" = "--setup" ] && exit 0

# ---- build and install kstt, then swift build + swift test inside the chroot -----------------
export KSTT_GOLDEN_DIR=${KSTT_GOLDEN_DIR:-$(cd .. && pwd)/shared/golden}
build=${KSTT_SWIFT_BUILD:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKSTT_GOLDEN_DIR="$KSTT_GOLDEN_DIR" \
    >/dev/null
ninja -C "$build" kstt kstt_shared kstt_static >/dev/null
work=$chroot_dir/tmp/kstt-swift
exec 9>"$chroot_dir/tmp/kstt-swift.lock"
flock 9
rm -rf "$work"
mkdir -p "$work/golden"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cp -r bindings/swift "$work/pkg"
rm -rf "$work/pkg/.build"
cp -r "$KSTT_GOLDEN_DIR/stt_tiny" "$KSTT_GOLDEN_DIR/bria_10s_24k.f32" "$work/golden/"
# The words the kstt tool gives (the Swift transcript must equal them).
"$build/kstt" transcribe --quiet --model "$KSTT_GOLDEN_DIR/stt_tiny" \
    "$KSTT_GOLDEN_DIR/bria_10s_24k.wav" > "$work/expected.txt"

mounted=()
cleanup() {
    for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
trap cleanup EXIT
mount -t proc proc "$chroot_dir/proc" && mounted+=("$chroot_dir/proc")
mount --bind /dev "$chroot_dir/dev" && mounted+=("$chroot_dir/dev")

libdir=$(dirname "$(dirname "$(find "$work/prefix" -name kstt.pc)")")
libdir=/tmp/kstt-swift/prefix/${libdir#"$work/prefix/"}
# SwiftPM rejects an rpath in a .pc file: the library path goes through LD_LIBRARY_PATH.
nice -n 10 chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp/kstt-swift \
    PKG_CONFIG_PATH="$libdir/pkgconfig" LD_LIBRARY_PATH="$libdir" \
    KSTT_GOLDEN_DIR=/tmp/kstt-swift/golden KSTT_EXPECTED_TEXT=/tmp/kstt-swift/expected.txt \
    sh -c 'cd /tmp/kstt-swift/pkg && swift build --scratch-path /tmp/kstt-swift/build 2>&1 &&
           swift test --scratch-path /tmp/kstt-swift/build 2>&1'
echo "swift: swift build and swift test passed against $build's libkstt"
