# Kernel files by target architecture. Included by the top-level CMakeLists.txt with
# KSTT_SOURCES (every src/**/*.c); removes the kernel files of other architectures, gives each
# ISA file its flags from its suffix, and sets KSTT_KERNEL_DEFS (KSTT_HAVE_X86=1 when the x86
# levels are compiled in). A new level adds a suffix rule here and its table file; the dispatch
# code does not change.
set(KSTT_KERNEL_DEFS "")
set(KSTT_ARCH_X86 OFF)
set(KSTT_ARCH_ARM64 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    set(KSTT_ARCH_X86 ON)
    list(APPEND KSTT_KERNEL_DEFS KSTT_HAVE_X86=1)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64|ARM64")
    set(KSTT_ARCH_ARM64 ON)
endif()

foreach(f ${KSTT_SOURCES})
    if(f MATCHES "/kernels/x86/")
        if(NOT KSTT_ARCH_X86)
            list(REMOVE_ITEM KSTT_SOURCES ${f})
        elseif(f MATCHES "_avx512\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS
                "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512bf16;-mavx512vnni;-mfma;-mf16c")
        elseif(f MATCHES "_avx2\\.c$")
            set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
        endif()
    elseif(f MATCHES "/kernels/arm/")
        if(NOT KSTT_ARCH_ARM64)
            list(REMOVE_ITEM KSTT_SOURCES ${f})
        endif()
    endif()
endforeach()
