# rrsync-admin's everyday commands (issues 13 and 14): snapshots and prune, keys, revoke,
# sessions. Sources added to the admin targets of cmake/parts/admin.cmake (included before this
# file: the parts are included in sorted order).
if(TARGET rrsync_admin)
  target_sources(rrsync_admin PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/../../src/admin_diff.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../src/admin_key_blob.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../src/admin_keys.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../src/admin_retention.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../src/admin_sessions.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../src/admin_snapshots.cc)
  target_sources(rrsync_admin_tests PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/../../tests/admin_keys_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../tests/admin_retention_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../tests/admin_sessions_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../tests/admin_snapshots_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/../../tests/admin_version_test.cc)
endif()
