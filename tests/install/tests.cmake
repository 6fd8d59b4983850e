# The install test: `cmake --install` into a temporary prefix, then a small C program built
# against it with pkg-config (shared, then --static) and with find_package(kstt).
if(KSTT_FRONTEND)
    add_test(NAME test_install
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_install.sh ${CMAKE_BINARY_DIR})
    set_tests_properties(test_install PROPERTIES LABELS "e2e;install"
                         ENVIRONMENT "${KSTT_TEST_ENV}" TIMEOUT 300)
endif()
