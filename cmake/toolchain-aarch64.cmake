# Cross build for aarch64 Linux with Debian's gcc-aarch64-linux-gnu, run under qemu-user:
#   cmake -S . -B build-arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DKSTT_FRONTEND=OFF
# Dependencies come from Debian's arm64 multiarch packages (libcjson-dev:arm64). ctest runs
# every test through CMAKE_CROSSCOMPILING_EMULATOR; QEMU_CPU in the environment picks the
# emulated CPU (.ci/stage-aarch64.sh: cortex-a72 for the NEON baseline, max for the rest).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(KSTT_AARCH64_TRIPLE aarch64-linux-gnu CACHE STRING "cross triple")
set(CMAKE_C_COMPILER ${KSTT_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${KSTT_AARCH64_TRIPLE}-g++)
set(CMAKE_FIND_ROOT_PATH /usr/${KSTT_AARCH64_TRIPLE} /usr/lib/${KSTT_AARCH64_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${KSTT_AARCH64_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
# -L /: the arm64 multiarch libc6:arm64 (pulled in by libcjson-dev:arm64). Under the cross
# toolchain's own libc (/usr/aarch64-linux-gnu) qemu 7.2 hangs in the first pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
