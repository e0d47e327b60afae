# rrsync-admin (issue 5): authorize keys, audit the server, probe from the client. A separate
# binary: CLI11 and nlohmann-json are linked here and never into the forced command `rrsync`.
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
get_filename_component(RRSYNC_ADMIN_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

add_library(rrsync_admin STATIC
  ${RRSYNC_ADMIN_ROOT}/src/admin_audit.cc
  ${RRSYNC_ADMIN_ROOT}/src/admin_authorize.cc
  ${RRSYNC_ADMIN_ROOT}/src/admin_authorized_keys.cc
  ${RRSYNC_ADMIN_ROOT}/src/admin_login_files.cc
  ${RRSYNC_ADMIN_ROOT}/src/admin_probe.cc
  ${RRSYNC_ADMIN_ROOT}/src/admin_process.cc
  ${RRSYNC_ADMIN_ROOT}/src/admin_ssh_config.cc
)
target_include_directories(rrsync_admin PUBLIC ${RRSYNC_ADMIN_ROOT}/src)
target_link_libraries(rrsync_admin PUBLIC rrsync_core nlohmann_json::nlohmann_json)

add_executable(rrsync-admin ${RRSYNC_ADMIN_ROOT}/src/rrsync_admin_main.cc)
target_link_libraries(rrsync-admin PRIVATE rrsync_admin CLI11::CLI11)
target_compile_definitions(rrsync-admin PRIVATE RRSYNC_VERSION="${PROJECT_VERSION}")
install(TARGETS rrsync-admin RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages, compressed the way Debian ships them (gzip -9n: no name or time stamp inside).
set(RRSYNC_MAN_PAGES)
foreach(page rrsync.1 rrsync-admin.8)
  set(out ${CMAKE_BINARY_DIR}/man/${page}.gz)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND gzip -9 -n -c ${RRSYNC_ADMIN_ROOT}/man/${page} > ${out}
    DEPENDS ${RRSYNC_ADMIN_ROOT}/man/${page}
    COMMENT "Compressing man page ${page}"
    VERBATIM)
  list(APPEND RRSYNC_MAN_PAGES ${out})
endforeach()
add_custom_target(rrsync_man_pages ALL DEPENDS ${RRSYNC_MAN_PAGES})
install(FILES ${CMAKE_BINARY_DIR}/man/rrsync.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_BINARY_DIR}/man/rrsync-admin.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

set(RRSYNC_ADMIN_TEST_SOURCES
  ${RRSYNC_ADMIN_ROOT}/tests/admin_authorized_keys_test.cc
  ${RRSYNC_ADMIN_ROOT}/tests/admin_login_files_test.cc
  ${RRSYNC_ADMIN_ROOT}/tests/admin_ssh_config_test.cc
  ${RRSYNC_ADMIN_ROOT}/tests/admin_authorize_test.cc
  ${RRSYNC_ADMIN_ROOT}/tests/admin_audit_test.cc
  ${RRSYNC_ADMIN_ROOT}/tests/admin_probe_test.cc
  ${RRSYNC_ADMIN_ROOT}/tests/admin_test_util.cc
)
add_executable(rrsync_admin_tests ${RRSYNC_ADMIN_TEST_SOURCES})
target_include_directories(rrsync_admin_tests PRIVATE ${RRSYNC_ADMIN_ROOT}/tests)
target_link_libraries(rrsync_admin_tests PRIVATE rrsync_admin GTest::gtest_main)
# authorize -> probe -> backup against the shared throwaway sshd (library rrsync_sshd_harness,
# defined by cmake/parts/e2e.cmake, which is included after this file).
target_sources(rrsync_admin_tests PRIVATE ${RRSYNC_ADMIN_ROOT}/tests/admin_e2e_test.cc)
target_link_libraries(rrsync_admin_tests PRIVATE rrsync_sshd_harness)
target_compile_definitions(rrsync_admin_tests PRIVATE
  RRSYNC_BUILT_BINARY="$<TARGET_FILE:rrsync>"
  RRSYNC_ADMIN_BINARY="$<TARGET_FILE:rrsync-admin>"
  RRSYNC_VERSION="${PROJECT_VERSION}"
  SOURCE_DIR="${RRSYNC_ADMIN_ROOT}")
add_dependencies(rrsync_admin_tests rrsync rrsync-admin)
gtest_discover_tests(rrsync_admin_tests DISCOVERY_TIMEOUT 60 TEST_PREFIX admin.)
