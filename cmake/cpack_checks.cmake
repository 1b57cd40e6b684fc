# Read by cpack (CPACK_PROJECT_CONFIG_FILE, set in packaging.cmake): warns
# when the build a Debian package is made from was not configured for one,
# as tools/package.sh configures it.
if(CPACK_GENERATOR STREQUAL "DEB")
  if(NOT CPACK_MYR_INSTALL_PREFIX STREQUAL "/usr")
    message(WARNING "myriad: this build's prefix is ${CPACK_MYR_INSTALL_PREFIX}, not /usr: "
                    "the package's libraries go to /usr/lib, not the multiarch directory")
  endif()
  if(NOT CPACK_MYR_SHARED_DEFAULT)
    message(WARNING "myriad: BUILD_SHARED_LIBS is off in this build: the package's "
                    "myriad::myriad is the static library (pkg-config's -lmyriad links the shared one)")
  endif()
  if(CPACK_MYR_NATIVE_TUNE)
    message(WARNING "myriad: MYR_SIMD_NATIVE is on in this build: the package's myriad-tune "
                    "runs only on CPUs with this machine's instruction set")
  endif()
endif()
