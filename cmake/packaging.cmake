# The Debian package (cpack -G DEB) and the tests of the shared build and of
# the package. Included by the top-level CMakeLists.txt after the install
# rules.

# The version is written twice, in project() and in status.h (the macros and
# myr_version_string()); they must agree.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/myriad/status.h myr_version_lines
     REGEX "^#define MYR_VERSION_(MAJOR|MINOR|PATCH) ")
set(myr_header_version "")
foreach(myr_part IN ITEMS MAJOR MINOR PATCH)
  set(myr_value "?")
  foreach(myr_line IN LISTS myr_version_lines)
    if(myr_line MATCHES "^#define MYR_VERSION_${myr_part} +([0-9]+)")
      set(myr_value ${CMAKE_MATCH_1})
    endif()
  endforeach()
  list(APPEND myr_header_version ${myr_value})
endforeach()
list(JOIN myr_header_version "." myr_header_version)
if(NOT myr_header_version STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "myriad: project(VERSION ${PROJECT_VERSION}) but include/myriad/status.h "
                      "says ${myr_header_version}: change both")
endif()

# ---- the package ------------------------------------------------------------
# One package, myriad: both libraries, the headers, the CMake config and the
# .pc file, and myriad-tune and myriad-snap when they are built. Make it from
# a build meant for it, as tools/package.sh does: prefix /usr (GNUInstallDirs
# then puts the libraries in the multiarch directory), BUILD_SHARED_LIBS=ON
# (so myriad::myriad is the shared library, as -lmyriad is) and
# MYR_SIMD_NATIVE=OFF (else myriad-tune runs only on CPUs like the builder's).
set(MYR_PACKAGE_MAINTAINER
    "myriad maintainers <maintainers@users.noreply.b-seed-dcf0845b.example>"
    CACHE STRING "The Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME myriad)
set(CPACK_PACKAGE_VENDOR myriad)
set(CPACK_PACKAGE_CONTACT "${MYR_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# the long description, as Debian wants it: lines under 80 columns
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "myriad is a C11 library: a world of entities whose components are stored"
  "as structure-of-arrays columns in archetype tables, queries over them,"
  "patches, a system schedule, and a work-stealing job system that runs it"
  "on every core."
  ""
  "This package holds the shared library, the static one, the headers, the"
  "CMake package (find_package(myriad): myriad::myriad is the shared library,"
  "myriad::myriad_static the static one), the pkg-config file,"
  "myriad-tune, which measures and tunes the built-in scenarios' chunk sizes,"
  "and myriad-snap, which inspects, verifies, hashes, compares and dumps"
  "snapshot files.")
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build/" "/\\.git")
set(CPACK_DEBIAN_PACKAGE_NAME myriad)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: what the installed files need on a Debian system.
#   libc6, ...      what the shared library and the tools need at run
#                   time: dpkg-shlibdeps (dpkg-dev) reads it off the ELF
#                   files. Today that is libc6 alone: the library uses
#                   concurrencykit's inline functions only, so it has no
#                   NEEDED libck.so.0 (were that to change, libck0 would be
#                   added here by itself);
#   libck-dev       the CMake config and the .pc file name ck (ck.pc, which
#                   libck-dev ships): find_package(myriad) and pkg-config
#                   myriad fail without it, whichever library a consumer
#                   links, and a static link gets -lck from them;
#   libsimde-dev    myriad/simd.h includes <simde/x86/avx2.h>;
#   pkgconf         the CMake config finds ck with pkg-config.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libck-dev (>= 0.7.1), libsimde-dev, pkgconf | pkg-config")
# A shlibs file, so that a package built against this one depends on a
# myriad with the same SONAME: this version or a later one up to the next
# that changes the ABI (CPack's generated one would say "= this version").
get_target_property(myr_soversion myriad_shared SOVERSION) # src/library.cmake
if(PROJECT_VERSION_MAJOR EQUAL 0)
  math(EXPR myr_next_minor "${PROJECT_VERSION_MINOR} + 1")
  set(myr_next_abi ${PROJECT_VERSION_MAJOR}.${myr_next_minor})
else()
  math(EXPR myr_next_abi "${PROJECT_VERSION_MAJOR} + 1")
endif()
file(WRITE ${PROJECT_BINARY_DIR}/debian/shlibs
     "libmyriad ${myr_soversion} myriad (>= ${PROJECT_VERSION}), myriad (<< ${myr_next_abi}~)\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/debian/shlibs)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
if(CMAKE_CROSSCOMPILING)
  # dpkg-shlibdeps reads the host's package database: name the run-time
  # dependencies by hand, and the architecture from the target
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  string(PREPEND CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, ")
  if(CMAKE_SYSTEM_PROCESSOR STREQUAL "aarch64")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
  endif()
endif()
# cpack warns when the build was not configured for a package (above)
set(CPACK_MYR_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_MYR_SHARED_DEFAULT "${BUILD_SHARED_LIBS}")
set(CPACK_MYR_NATIVE_TUNE OFF)
if(TARGET myriad-tune AND MYR_SIMD_NATIVE)
  set(CPACK_MYR_NATIVE_TUNE ON)
endif()
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/cpack_checks.cmake)
include(CPack)

# ---- tests of the shared build and of the package ---------------------------
# The release build's own install (tests/CMakeLists.txt: install_and_consume,
# installed_symbols_are_prefixed) checks both libraries with myriad::myriad
# static. These check a package build (tools/package.sh, in
# <build>/package): myriad::myriad shared, and the .deb installed with dpkg,
# used from /usr and purged again. Not in sanitizer or cross builds, as the
# install test.
if(MYR_BUILD_TESTS AND NOT MYR_SANITIZE AND NOT CMAKE_CROSSCOMPILING)
  set(myr_package_build ${PROJECT_BINARY_DIR}/package)
  add_test(NAME package_build
           COMMAND ${PROJECT_SOURCE_DIR}/tools/package.sh ${myr_package_build}
                   -G ${CMAKE_GENERATOR}
                   -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}
                   -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
                   -DMYR_WERROR=${MYR_WERROR})
  set_tests_properties(package_build PROPERTIES FIXTURES_SETUP myr_package)
  add_test(NAME package_symbols_are_prefixed
           COMMAND ${PROJECT_SOURCE_DIR}/tests/check_symbols.sh ${myr_package_build} ${CMAKE_NM})
  add_test(NAME package_install_and_consume
           COMMAND ${PROJECT_SOURCE_DIR}/tests/install_test.sh ${myr_package_build} ${PROJECT_SOURCE_DIR})
  add_test(NAME deb_install_and_consume
           COMMAND ${PROJECT_SOURCE_DIR}/tests/deb_test.sh ${myr_package_build} ${PROJECT_SOURCE_DIR})
  set_tests_properties(package_symbols_are_prefixed package_install_and_consume deb_install_and_consume
                       PROPERTIES FIXTURES_REQUIRED myr_package)
  # dpkg -i needs root: skipped (77) otherwise
  set_tests_properties(deb_install_and_consume PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL ON)
  set_tests_properties(package_build package_symbols_are_prefixed package_install_and_consume
                       deb_install_and_consume PROPERTIES LABELS package)
endif()
