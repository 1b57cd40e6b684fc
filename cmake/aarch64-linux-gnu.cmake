# Cross build for aarch64 Linux with Debian's gcc-aarch64-linux-gnu; the
# tests run under qemu-user (CTest prepends the emulator). ck and cmocka
# come from build/sysroot-aarch64 (tools/setup_aarch64.sh unpacks them).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

get_filename_component(MYR_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-aarch64" ABSOLUTE)
set(MYR_SYSROOT_LIB "${MYR_SYSROOT}/usr/lib/aarch64-linux-gnu")
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu ${MYR_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY) # SIMDe: a link in the sysroot to the host's headers
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config: the sysroot's .pc files, their /usr paths under the sysroot
set(ENV{PKG_CONFIG_LIBDIR} "${MYR_SYSROOT_LIB}/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${MYR_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")

# the emulator finds the arm64 libc under -L, and cmocka by the rpath
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
set(CMAKE_BUILD_RPATH "${MYR_SYSROOT_LIB}")
