# The Debian package (issue 5): `cpack -G DEB` in the build directory makes
# rrsync_<version>_amd64.deb with rrsync and rrsync-admin in /usr/bin and both man pages. Its
# maintainer scripts divert Debian's own /usr/bin/rrsync (from the rsync package) and man page
# aside, so existing `command="rrsync ..."` lines switch to ours, and give them back on removal.
get_filename_component(RRSYNC_PACKAGE_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rrsync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# No real address is ours to invent: .invalid is reserved (RFC 2606) for names that never
# resolve, and lintian accepts it as a mail host (it refuses a bare "localhost").
set(CPACK_PACKAGE_CONTACT "rrsync maintainers <rrsync@rrsync.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "restricted rsync for ssh forced commands, with a setup and audit tool")
# CPack writes the summary as the synopsis line and indents this long description below it by
# one space, as the control file wants (repeating the synopsis here: lintian's
# description-synopsis-is-duplicated).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "rrsync is a drop-in replacement for the rrsync script of the rsync package: an
ssh forced command that allows only an rsync server session confined to one
directory, enforced with Landlock where the kernel supports it. rrsync-admin
installs restricted keys, audits the server's sshd and keys, and probes a
login from the client.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# A client that only runs `rrsync-admin probe` needs no ssh server.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "rsync")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "openssh-server")
# No prerm: it would have nothing to do (lintian: maintainer-script-empty).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${RRSYNC_PACKAGE_ROOT}/packaging/preinst
    ${RRSYNC_PACKAGE_ROOT}/packaging/postinst
    ${RRSYNC_PACKAGE_ROOT}/packaging/postrm
    ${RRSYNC_PACKAGE_ROOT}/packaging/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)
# DESTDIR staging, so that the one absolute destination (/etc/logrotate.d) lands in the package
# and never on the building machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
# Reproducible: CPack stamps every file and archive member with SOURCE_DATE_EPOCH when it is
# set. A plain `cpack` gets the time of the last commit, read when cmake configures (or the
# changelog's date outside git), so two runs give the same bytes; an environment value wins.
execute_process(COMMAND git -C ${RRSYNC_PACKAGE_ROOT} log -1 --format=%ct
                OUTPUT_VARIABLE RRSYNC_SOURCE_DATE_EPOCH OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE git_result)
if(NOT git_result EQUAL 0 OR NOT RRSYNC_SOURCE_DATE_EPOCH MATCHES "^[0-9]+$")
  set(RRSYNC_SOURCE_DATE_EPOCH 1796052131)  # packaging/changelog's date
endif()
set(RRSYNC_CPACK_PROJECT_CONFIG ${CMAKE_BINARY_DIR}/CPackRrsyncProject.cmake)
file(WRITE ${RRSYNC_CPACK_PROJECT_CONFIG}
     "if(NOT DEFINED ENV{SOURCE_DATE_EPOCH})\n"
     "  set(ENV{SOURCE_DATE_EPOCH} ${RRSYNC_SOURCE_DATE_EPOCH})\n"
     "endif()\n")
set(CPACK_PROJECT_CONFIG_FILE ${RRSYNC_CPACK_PROJECT_CONFIG})
# cpack installs from the build tree as it is; without this its "preinstall" step would first
# build every target of the project (minutes), which the package test cannot afford. Build
# first (scripts/build), then run cpack.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
include(CPack)

# /usr/share/doc/rrsync: what an admin reads after `apt install`, the copyright in Debian's
# machine-readable format, and the changelog (gzip -n: no name or time in the header).
set(RRSYNC_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/rrsync)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND gzip -9 -n -c ${RRSYNC_PACKAGE_ROOT}/packaging/changelog >
          ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  DEPENDS ${RRSYNC_PACKAGE_ROOT}/packaging/changelog
  COMMENT "Compressing the package changelog")
add_custom_target(rrsync_package_docs ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${RRSYNC_PACKAGE_ROOT}/README.md ${RRSYNC_PACKAGE_ROOT}/packaging/copyright
              ${CMAKE_BINARY_DIR}/packaging/changelog.gz
        DESTINATION ${RRSYNC_DOC_DIR})
install(FILES ${RRSYNC_PACKAGE_ROOT}/docs/CONFIG.md ${RRSYNC_PACKAGE_ROOT}/docs/SANDBOX.md
              ${RRSYNC_PACKAGE_ROOT}/docs/PERFORMANCE.md
              ${RRSYNC_PACKAGE_ROOT}/docs/TROUBLESHOOTING.md
        DESTINATION ${RRSYNC_DOC_DIR}/docs)
install(FILES ${RRSYNC_PACKAGE_ROOT}/docs/examples/rrsync.conf
        DESTINATION ${RRSYNC_DOC_DIR}/examples)
# A conffile (packaging/conffiles): dpkg keeps an admin's edits on upgrade.
install(FILES ${RRSYNC_PACKAGE_ROOT}/packaging/logrotate DESTINATION /etc/logrotate.d
        RENAME rrsync)

# Builds the .deb in a scratch directory, looks inside, runs lintian, mandoc and readelf on it,
# then installs and removes it in a scratch root (dpkg --root): the host is never changed.
add_executable(rrsync_package_tests
  ${RRSYNC_PACKAGE_ROOT}/tests/admin_package_test.cc
  ${RRSYNC_PACKAGE_ROOT}/tests/admin_test_util.cc
  ${RRSYNC_PACKAGE_ROOT}/tests/accounts/process_account.cc)
target_include_directories(rrsync_package_tests PRIVATE ${RRSYNC_PACKAGE_ROOT}/tests
  ${RRSYNC_PACKAGE_ROOT}/tests/accounts)
target_link_libraries(rrsync_package_tests PRIVATE rrsync_admin GTest::gtest_main)
target_compile_definitions(rrsync_package_tests PRIVATE
  CPACK_CONFIG="${CMAKE_BINARY_DIR}/CPackConfig.cmake"
  BUILD_DIR="${CMAKE_BINARY_DIR}"
  PACKAGE_VERSION="${PROJECT_VERSION}"
  SOURCE_DIR="${RRSYNC_PACKAGE_ROOT}")
add_dependencies(rrsync_package_tests rrsync rrsync-admin rrsync_man_pages rrsync_package_docs)
gtest_discover_tests(rrsync_package_tests DISCOVERY_TIMEOUT 60 TEST_PREFIX package.
                     PROPERTIES TIMEOUT 300)
