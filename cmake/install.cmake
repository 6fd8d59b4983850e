# Install rules: the public headers, libkstt (static and shared), the kstt tool, kstt.pc and a
# CMake package (find_package(kstt) -> kstt::kstt, the shared library, and kstt::kstt_static).
include(CMakePackageConfigHelpers)

install(FILES ${CMAKE_SOURCE_DIR}/include/kstt.h ${CMAKE_SOURCE_DIR}/include/mimi.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS kstt_shared kstt_static EXPORT kstt-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET kstt)
    install(TARGETS kstt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The static library's targets name the imported pkg-config targets of its dependencies;
# the package config finds them again (kstt-config.cmake.in).
install(EXPORT kstt-targets NAMESPACE kstt:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kstt)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/kstt-config.cmake.in
    ${CMAKE_BINARY_DIR}/kstt-config.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kstt)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/kstt-config-version.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/kstt-config.cmake ${CMAKE_BINARY_DIR}/kstt-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kstt)

# pkg-config: `pkg-config --cflags --libs kstt` (shared), `pkg-config --static ...` (static).
file(RELATIVE_PATH KSTT_PC_RELPREFIX
     ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" KSTT_PC_RELPREFIX "${KSTT_PC_RELPREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/kstt.pc.in ${CMAKE_BINARY_DIR}/kstt.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/kstt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
