# Assembles the library from the compiled objects: the un-localised archive
# for the tests, and the installed libraries, static and shared. Included by
# src/CMakeLists.txt.
#
# The compiled objects come from one place: myr_object_libs, the names of the
# OBJECT libraries the library is made of. Set it before including this file
# (one OBJECT library per part, say); unset, it is myriad_objects.
if(NOT DEFINED myr_object_libs)
  set(myr_object_libs myriad_objects)
endif()
set(myr_objects "")
foreach(myr_lib IN LISTS myr_object_libs)
  list(APPEND myr_objects $<TARGET_OBJECTS:${myr_lib}>)
endforeach()

# Un-localised, for in-tree code that needs the private functions (tests).
add_library(myriad_internal STATIC ${myr_objects})
target_include_directories(myriad_internal
  PUBLIC ${PROJECT_SOURCE_DIR}/include ${myr_part_dirs})
target_link_libraries(myriad_internal PUBLIC PkgConfig::CK PkgConfig::ZSTD Threads::Threads)

# The merged, localised object. Needs GNU ld and objcopy (ELF); without them
# the installed libraries are the plain objects and export private names too.
if(CMAKE_LINKER AND CMAKE_OBJCOPY AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang"
   AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(myr_merged ${CMAKE_CURRENT_BINARY_DIR}/myriad_merged.o)
  add_custom_command(
    OUTPUT ${myr_merged}
    COMMAND ${CMAKE_LINKER} -r -o ${myr_merged}.tmp ${myr_objects}
    COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${myr_merged}.tmp ${myr_merged}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${myr_merged}.tmp
    DEPENDS ${myr_object_libs} ${myr_objects}
    COMMENT "Merging the myriad objects and localising their hidden symbols"
    COMMAND_EXPAND_LISTS VERBATIM)
  set_source_files_properties(${myr_merged} PROPERTIES EXTERNAL_OBJECT ON GENERATED ON)
  set(myr_library_sources ${myr_merged})
else()
  message(WARNING "myriad: no GNU ld/objcopy: the installed library also exports private symbols")
  set(myr_library_sources ${myr_objects})
endif()

# Both libraries are always built, from the same object, both named
# libmyriad: linking the shared one costs a second, and so every build
# installs (and every package holds) both.
#   myriad_static  libmyriad.a, exported as myriad::myriad_static
#   myriad_shared  libmyriad.so.<SOVERSION>, exported as myriad::myriad_shared
#   myriad         what myriad::myriad links: the shared one when
#                  BUILD_SHARED_LIBS is on, else the static one.
# The SONAME names the ABI: while the major version is 0 a minor release may
# change it, so it is MAJOR.MINOR (libmyriad.so.0.1); from 1.0 on, MAJOR
# (docs/design.md, "Versions and ABI").
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(myr_soversion ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(myr_soversion ${PROJECT_VERSION_MAJOR})
endif()
add_library(myriad_static STATIC ${myr_library_sources})
add_library(myriad_shared SHARED ${myr_library_sources})
foreach(myr_lib IN ITEMS myriad_static myriad_shared)
  target_include_directories(${myr_lib}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${myr_lib}
    PRIVATE PkgConfig::CK PkgConfig::ZSTD $<BUILD_INTERFACE:myr_flags>
    PUBLIC  Threads::Threads)
  set_target_properties(${myr_lib} PROPERTIES
    OUTPUT_NAME myriad EXPORT_NAME ${myr_lib}
    LINKER_LANGUAGE C POSITION_INDEPENDENT_CODE ON)
endforeach()
set_target_properties(myriad_shared PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${myr_soversion})
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # belt and braces: hidden symbols are not exported anyway; this also keeps
  # out anything else a toolchain might make global
  set(myr_version_script ${CMAKE_CURRENT_SOURCE_DIR}/myriad.map)
  target_link_options(myriad_shared PRIVATE LINKER:--version-script=${myr_version_script})
  set_property(TARGET myriad_shared APPEND PROPERTY LINK_DEPENDS ${myr_version_script})
endif()

add_library(myriad INTERFACE)
if(BUILD_SHARED_LIBS)
  target_link_libraries(myriad INTERFACE myriad_shared)
else()
  target_link_libraries(myriad INTERFACE myriad_static)
endif()
add_library(myriad::myriad ALIAS myriad)
add_library(myriad::myriad_static ALIAS myriad_static)
add_library(myriad::myriad_shared ALIAS myriad_shared)
