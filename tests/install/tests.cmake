# The install test: `cmake --install` into a temporary prefix, then a small C program built
# against it with pkg-config (shared, then --static) and with find_package(kstt).
if(KSTT_FRONTEND)
    # A sanitized or coverage-instrumented library needs the same runtime in its users.
    set(install_cflags "")
    if(KSTT_SANITIZE)
        string(APPEND install_cflags " -fsanitize=address,undefined")
    endif()
    if(KSTT_FUZZ)
        string(APPEND install_cflags " -fsanitize=fuzzer-no-link")
    endif()
    add_test(NAME test_install
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_install.sh ${CMAKE_BINARY_DIR})
    set_tests_properties(test_install PROPERTIES LABELS "e2e;install"
                         ENVIRONMENT "${KSTT_TEST_ENV};CC=${CMAKE_C_COMPILER};KSTT_INSTALL_CFLAGS=${install_cflags}"
                         TIMEOUT 300)
endif()
