# Sourced by the end-to-end scripts: TAP-style progress lines and the one way to run a command
# and check its exit status. The script sets T (a scratch directory) before calling run_status.
#   ok TEXT                     counts and prints "ok N - TEXT" (n_ok holds the count)
#   fail TEXT                   prints "FAIL: TEXT" to stderr and exits 1
#   run_status NAME WANT CMD... runs CMD (120 s at most), stdout to $T/NAME.out, stderr to
#                               $T/NAME.err; fails (showing stderr) unless it exits with WANT
#   expect_err NAME TEXT        the stderr of run NAME contains TEXT
n_ok=0
ok() { n_ok=$((n_ok + 1)); echo "ok $n_ok - $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
run_status() {
    local name=$1 want=$2
    shift 2
    local st=0
    timeout 120 "$@" >"$T/$name.out" 2>"$T/$name.err" || st=$?
    if [[ $st -ne $want ]]; then
        cat "$T/$name.err" >&2
        fail "$name: exit status $st, expected $want ($*)"
    fi
}
expect_err() { grep -qF -- "$2" "$T/$1.err" || fail "$1: stderr lacks '$2': $(cat "$T/$1.err")"; }
