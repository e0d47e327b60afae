# Hardening and reproducibility flags for every target (issue 14): what Debian's
# dpkg-buildflags sets with hardening=+all, so lintian's hardening-no-* tags and readelf agree
# (package test PackageTest.BinariesAreHardened). None of them adds a library: rrsync stays
# libc-only at run time (__stack_chk_fail and the __*_chk functions are libc's).
#
# The CMAKE_<LANG>_FLAGS variables are read when the directory is generated, not when a target
# is made, so setting them here (a part included after the targets) still applies to all.
#
# _FORTIFY_SOURCE goes to what the package ships (the programs and the libraries they link):
# it also marks libc calls warn_unused_result, which -Werror would turn into errors in test
# fixtures that ignore a chown or a symlink on purpose. It needs the optimizer (with -O0
# glibc's headers warn), so only the optimized build types get it; -U first, so a
# distribution's default of another level does not clash. Deferred to the end of the
# directory: some of those targets are made by parts included after this one.
function(rrsync_fortify_shipped_targets)
  if(RRSYNC_SANITIZE)
    return()
  endif()
  foreach(target rrsync rrsync-admin rrsync_core rrsync_sandbox rrsync_admin)
    if(TARGET ${target})
      target_compile_options(${target} PRIVATE
        $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2>)
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL rrsync_fortify_shipped_targets)
foreach(lang C CXX)
  # The stack: canaries, probes against a stack clash, Intel CET's shadow stack and IBT marks.
  # PIE explicitly, though Debian's compiler defaults to it, so another compiler gets it too.
  string(APPEND CMAKE_${lang}_FLAGS
         " -fstack-protector-strong -fstack-clash-protection -fcf-protection -fPIE")
  # Reproducible: no path of this checkout in the binaries (debug info, __FILE__), so two
  # builds in different directories give the same bytes. The build directory is mapped after
  # the source directory, which usually holds it: the later option wins for its longer prefix.
  string(APPEND CMAKE_${lang}_FLAGS
         " -ffile-prefix-map=${CMAKE_SOURCE_DIR}/= -ffile-prefix-map=${CMAKE_BINARY_DIR}/=")
endforeach()
# Full RELRO (the GOT read-only after relocation, all symbols bound at start) and a PIE.
string(APPEND CMAKE_EXE_LINKER_FLAGS " -pie -Wl,-z,relro,-z,now")
