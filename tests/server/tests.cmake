# Server tests (label `server`): Python clients (Debian python3-websockets, python3-msgpack,
# python3-numpy, python3-soundfile) against `kstt serve` on loopback, with the tiny golden model
# and the demo model; srv_ref (the library in raw mode) is the reference. Also: 100 streams at
# real time for ~50 s (server_load), the page in headless Chromium (server_page), HAProxy in
# front of two instances (server_haproxy), and Kyutai's own clients when their sources are
# given (server_kyutai_clients: KYUTAI_DSM_DIR, KYUTAI_UNMUTE_DIR; skipped otherwise).
if(TARGET kstt_server AND KSTT_FRONTEND)
    add_executable(srv_ref ${CMAKE_CURRENT_LIST_DIR}/srv_ref.c)
    target_link_libraries(srv_ref PRIVATE kstt_static)
    add_dependencies(srv_ref kstt)
    set(KSTT_SERVER_PY /usr/bin/python3) # Debian's interpreter sees the python3-* packages
    set(KSTT_SERVER_ENV "${KSTT_TEST_ENV};SRV_REF=$<TARGET_FILE:srv_ref>")
    set(KSTT_SERVER_CASES protocol_tiny protocol_demo concurrent auth capacity malformed
        disconnect post metrics opus shutdown timeouts init backpressure load codebooks gather)
    foreach(t ${KSTT_SERVER_CASES})
        add_test(NAME server_${t}
                 COMMAND ${KSTT_SERVER_PY} ${CMAKE_CURRENT_LIST_DIR}/test_server.py ${t})
        set_tests_properties(server_${t} PROPERTIES LABELS server TIMEOUT 300
                             ENVIRONMENT "${KSTT_SERVER_ENV}")
    endforeach()
    # 100 streams for ~1 min: alone (RUN_SERIAL), and not in the sanitizer pass (slow)
    set_tests_properties(server_load PROPERTIES LABELS "server;slow" RUN_SERIAL TRUE)
    foreach(t page haproxy kyutai_clients)
        if(t STREQUAL "kyutai_clients")
            set(script ${CMAKE_CURRENT_LIST_DIR}/kyutai_clients.py)
        else()
            set(script ${CMAKE_CURRENT_LIST_DIR}/test_${t}.py)
        endif()
        add_test(NAME server_${t} COMMAND ${KSTT_SERVER_PY} ${script})
        set_tests_properties(server_${t} PROPERTIES LABELS server TIMEOUT 300
                             ENVIRONMENT "${KSTT_SERVER_ENV}" SKIP_RETURN_CODE 77)
    endforeach()
    # The protocol fuzz target (tests/fuzz/fuzz_asr_msg.c) needs the server library.
    if(TARGET replay_asr_msg)
        target_link_libraries(replay_asr_msg PRIVATE kstt_server)
    endif()
    if(TARGET fuzz_asr_msg)
        target_link_libraries(fuzz_asr_msg PRIVATE kstt_server)
    endif()
endif()
