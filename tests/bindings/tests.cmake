# Bindings tests (bindings/): the struct-layout printer the Python tests compare ctypes with,
# the rustymimi_c drop-in (exports, a program written against the original interface), the
# JSON-vocabulary model files of the macOS app, and the Python package's pytest suite.
add_executable(kstt_layout ${CMAKE_CURRENT_LIST_DIR}/layout.c)
target_include_directories(kstt_layout PRIVATE ${CMAKE_SOURCE_DIR}/include)

if(TARGET rustymimi_c)
    # Linked as an app links the original: -L DIR -lrustymimi_c, declarations of its own.
    add_executable(rustymimi_consumer ${CMAKE_CURRENT_LIST_DIR}/rustymimi_consumer.c)
    add_dependencies(rustymimi_consumer rustymimi_c)
    target_link_libraries(rustymimi_consumer PRIVATE -L$<TARGET_FILE_DIR:rustymimi_c>
                          -lrustymimi_c)
    set_target_properties(rustymimi_consumer PROPERTIES BUILD_RPATH
                          $<TARGET_FILE_DIR:rustymimi_c>)
    add_executable(mimi_native_codes ${CMAKE_CURRENT_LIST_DIR}/mimi_native_codes.c)
    target_link_libraries(mimi_native_codes PRIVATE kstt_shared)
    add_test(NAME test_rustymimi_c
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_rustymimi_c.sh
                     $<TARGET_FILE:rustymimi_c> $<TARGET_FILE:rustymimi_consumer>
                     $<TARGET_FILE:mimi_native_codes>)
    set_tests_properties(test_rustymimi_c PROPERTIES LABELS "e2e;bindings"
                         ENVIRONMENT "${KSTT_TEST_ENV}" TIMEOUT 300)
endif()

# The macOS app's model files: LM with MLX tensor names + a JSON vocabulary.
if(TARGET kstt)
    add_test(NAME test_mlx_model_files
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_mlx_model_files.sh)
    set_tests_properties(test_mlx_model_files PROPERTIES LABELS "e2e;bindings"
                         ENVIRONMENT "${KSTT_TEST_ENV}" TIMEOUT 300)
endif()

# The Python package, in place (PYTHONPATH) over this build's libkstt. Needs an interpreter
# with pytest and numpy (Debian's /usr/bin/python3 with python3-pytest, python3-numpy). Not
# under the sanitizers: a Python process cannot load an ASan-instrumented library.
if(NOT KSTT_SANITIZE AND NOT KSTT_FUZZ AND TARGET kstt)
    set(_kstt_py "")
    foreach(cand /usr/bin/python3 python3)
        execute_process(COMMAND ${cand} -c "import pytest, numpy" RESULT_VARIABLE _r
                        OUTPUT_QUIET ERROR_QUIET)
        if(_r EQUAL 0)
            set(_kstt_py ${cand})
            break()
        endif()
    endforeach()
    if(_kstt_py)
        add_test(NAME test_python_bindings
                 COMMAND ${_kstt_py} -m pytest -q -p no:cacheprovider
                         ${CMAKE_SOURCE_DIR}/bindings/python/tests)
        set_tests_properties(test_python_bindings PROPERTIES LABELS "e2e;bindings" TIMEOUT 300
            ENVIRONMENT "${KSTT_TEST_ENV};PYTHONPATH=${CMAKE_SOURCE_DIR}/bindings/python;KSTT_LIBRARY=$<TARGET_FILE:kstt_shared>;KSTT_LAYOUT_BIN=$<TARGET_FILE:kstt_layout>;PYTHONDONTWRITEBYTECODE=1")
    else()
        message(STATUS "bindings: no python3 with pytest and numpy; test_python_bindings skipped")
    endif()
endif()
