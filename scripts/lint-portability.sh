#!/usr/bin/env bash
# Fails when a C file uses a Linux-only API outside a guarded region. kstt must build on macOS
# (and other POSIX systems): pthread barriers (absent on macOS), getauxval / <sys/auxv.h>,
# sched_getaffinity and CPU_SET, /proc and /sys paths, MAP_POPULATE, epoll / eventfd /
# timerfd / memfd, <linux/...> and <asm/...> headers and the like belong in src/core/platform.c
# (or an arch detection file) behind `#if defined(__linux__)` with a fallback. A use counts as
# guarded when it sits inside an #if / #ifdef / #elif whose condition names __linux__,
# __gnu_linux__ or __ANDROID__ (the #else branch of such a test is NOT guarded).
#
# usage: scripts/lint-portability.sh [DIR...]   (default: src app cli server bench tests)
# Exit status 0 when clean, 1 with one line per finding (file:line: api: text).
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(src app cli server bench tests)
existing=()
for d in "${dirs[@]}"; do [ -e "$d" ] && existing+=("$d"); done
[ ${#existing[@]} -gt 0 ] || { echo "lint-portability: nothing to scan"; exit 0; }

# Linux-only APIs (extended regular expression, matched on code with comments removed)
api='pthread_barrier(_t|_init|_wait|_destroy|attr)|\<getauxval\>|sys/auxv\.h|\<sched_[gs]etaffinity\>|\<pthread_[gs]etaffinity_np\>|\<CPU_(SET|ZERO|ISSET|COUNT)\>|\<cpu_set_t\>|"/proc/|"/sys/|\<MAP_POPULATE\>|\<MAP_HUGETLB\>|\<epoll_[a-z_]+\>|\<eventfd\>|\<timerfd_[a-z]+\>|\<memfd_create\>|\<signalfd\>|\<inotify_[a-z_]+\>|<linux/|<asm/|\<malloc_usable_size\>|\<mallinfo2?\>|\<prctl\>|\<gettid\>|\<sendfile\>|\<splice\>|<malloc\.h>|\<MADV_HUGEPAGE\>|\<O_DIRECT\>'

status=0
while IFS= read -r -d '' f; do
    out=$(awk -v api="$api" -v file="$f" '
        function guarded(   i) { for (i = 1; i <= depth; i++) if (g[i]) return 1; return 0 }
        function linuxcond(s) { return s ~ /__linux__|__gnu_linux__|__ANDROID__/ }
        {
            line = $0
            # strip comments (block comments may span lines)
            code = ""
            while (length(line) > 0) {
                if (incomment) {
                    e = index(line, "*/")
                    if (e == 0) { line = ""; break }
                    line = substr(line, e + 2); incomment = 0
                } else {
                    b = index(line, "/*"); c = index(line, "//")
                    if (c > 0 && (b == 0 || c < b)) { code = code substr(line, 1, c - 1); line = ""; break }
                    if (b == 0) { code = code line; line = ""; break }
                    code = code substr(line, 1, b - 1); line = substr(line, b + 2); incomment = 1
                }
            }
            if (code ~ /^[ \t]*#[ \t]*if/) { depth++; g[depth] = linuxcond(code) && code !~ /![ \t]*defined[ \t]*\(?[ \t]*__(linux|gnu_linux|ANDROID)__/ && code !~ /#[ \t]*ifndef/; next }
            if (code ~ /^[ \t]*#[ \t]*elif/) { g[depth] = linuxcond(code) && code !~ /!/; next }
            if (code ~ /^[ \t]*#[ \t]*else/) { g[depth] = 0; next }
            if (code ~ /^[ \t]*#[ \t]*endif/) { if (depth > 0) depth--; next }
            if (match(code, api) && !guarded()) {
                printf "%s:%d: %s: %s\n", file, NR, substr(code, RSTART, RLENGTH), $0
            }
        }' "$f")
    if [ -n "$out" ]; then
        echo "$out"
        status=1
    fi
done < <(find "${existing[@]}" \( -name '*.c' -o -name '*.h' \) -not -path '*/build*' -print0 | sort -z)

if [ $status -ne 0 ]; then
    echo "lint-portability: Linux-only API outside a guarded region (use src/core/platform.h," >&2
    echo "or wrap it in #if defined(__linux__) ... #else <fallback> #endif)" >&2
fi
exit $status
