# The Debian package (issue 5): `cpack -G DEB` in the build directory makes
# rrsync_<version>_amd64.deb with rrsync and rrsync-admin in /usr/bin and both man pages. Its
# maintainer scripts divert Debian's own /usr/bin/rrsync (from the rsync package) and man page
# aside, so existing `command="rrsync ..."` lines switch to ours, and give them back on removal.
get_filename_component(RRSYNC_PACKAGE_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rrsync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "rrsync maintainers <rrsync@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "restricted rsync for ssh forced commands, with a setup and audit tool")
# CPack indents every line after the first by one space, as the control file wants.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "restricted rsync for ssh forced commands, with a setup and audit tool
rrsync is a drop-in replacement for the rrsync script of the rsync package: an
ssh forced command that allows only an rsync server session confined to one
directory, enforced with Landlock where the kernel supports it. rrsync-admin
installs restricted keys, audits the server's sshd and keys, and probes a
login from the client.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "rsync, openssh-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${RRSYNC_PACKAGE_ROOT}/packaging/preinst
    ${RRSYNC_PACKAGE_ROOT}/packaging/postinst
    ${RRSYNC_PACKAGE_ROOT}/packaging/prerm
    ${RRSYNC_PACKAGE_ROOT}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)
# cpack installs from the build tree as it is; without this its "preinstall" step would first
# build every target of the project (minutes), which the package test cannot afford. Build
# first (scripts/build), then run cpack.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
include(CPack)

# Builds the .deb in a scratch directory, looks inside, then installs and removes it for real.
# RUN_SERIAL: while it runs, /usr/bin/rrsync is ours, which other tests must not see.
add_executable(rrsync_package_tests
  ${RRSYNC_PACKAGE_ROOT}/tests/admin_package_test.cc
  ${RRSYNC_PACKAGE_ROOT}/tests/admin_test_util.cc)
target_include_directories(rrsync_package_tests PRIVATE ${RRSYNC_PACKAGE_ROOT}/tests)
target_link_libraries(rrsync_package_tests PRIVATE rrsync_admin GTest::gtest_main)
target_compile_definitions(rrsync_package_tests PRIVATE
  CPACK_CONFIG="${CMAKE_BINARY_DIR}/CPackConfig.cmake"
  PACKAGE_VERSION="${PROJECT_VERSION}"
  SOURCE_DIR="${RRSYNC_PACKAGE_ROOT}")
add_dependencies(rrsync_package_tests rrsync rrsync-admin rrsync_man_pages)
gtest_discover_tests(rrsync_package_tests DISCOVERY_TIMEOUT 60 TEST_PREFIX package.
                     PROPERTIES RUN_SERIAL TRUE TIMEOUT 300)
