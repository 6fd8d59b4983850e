# Kernel files by target architecture. Included by the top-level CMakeLists.txt with
# KSTT_SOURCES (every src/**/*.c); removes the kernel files of other architectures, gives each
# ISA file its flags from its suffix, and sets KSTT_KERNEL_DEFS (KSTT_HAVE_X86=1 when the x86
# levels are compiled in, KSTT_HAVE_ARM64=1 for the aarch64 ones; src/kernels/cpu_generic.c
# serves any other CPU). A new level adds a suffix rule here and its files under
# src/kernels/<arch>/ (kernels, a table file, a line in the arch's detection file); the
# dispatch code does not change (src/kernels/kernels.h, "HOW LEVELS ARE MADE").
set(KSTT_KERNEL_DEFS "")
set(KSTT_ARCH_X86 OFF)
set(KSTT_ARCH_ARM64 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    set(KSTT_ARCH_X86 ON)
    list(APPEND KSTT_KERNEL_DEFS KSTT_HAVE_X86=1)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64|ARM64")
    set(KSTT_ARCH_ARM64 ON)
    list(APPEND KSTT_KERNEL_DEFS KSTT_HAVE_ARM64=1)
endif()

# aarch64 flags per suffix (gcc and clang, Apple's included, spell them alike). The baseline
# (*_neon.c) is ARMv8.0-A Advanced SIMD, every AArch64 CPU (Cortex-A53/A72 and up): the NEON
# kernels widen and narrow halves (fcvtl/fcvtn, base ASIMD) but do no FEAT_FP16 arithmetic,
# which would change the numbers. *_dotprod.c may use sdot; *_i8mm.c smmla and bfdot/bfmmla.
set(KSTT_ARM_NEON_FLAGS "-march=armv8-a")
set(KSTT_ARM_DOTPROD_FLAGS "-march=armv8.2-a+dotprod")
set(KSTT_ARM_I8MM_FLAGS "-march=armv8.2-a+dotprod+i8mm+bf16")

foreach(f ${KSTT_SOURCES})
    if(f MATCHES "/kernels/x86/")
        if(NOT KSTT_ARCH_X86)
            list(REMOVE_ITEM KSTT_SOURCES ${f})
        elseif(f MATCHES "_amx\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS
                "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16;-mfma;-mf16c;-mamx-tile;-mamx-int8;-mamx-bf16")
        elseif(f MATCHES "_avx512\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS
                "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512bf16;-mavx512vnni;-mfma;-mf16c")
        elseif(f MATCHES "_avx2\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
        endif()
    elseif(f MATCHES "/kernels/arm/")
        if(NOT KSTT_ARCH_ARM64)
            list(REMOVE_ITEM KSTT_SOURCES ${f})
        elseif(f MATCHES "_i8mm\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${KSTT_ARM_I8MM_FLAGS}")
        elseif(f MATCHES "_dotprod\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${KSTT_ARM_DOTPROD_FLAGS}")
        elseif(f MATCHES "_neon\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${KSTT_ARM_NEON_FLAGS}")
        endif()
    endif()
endforeach()
