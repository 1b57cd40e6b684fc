# Assembles the library from the compiled parts (myr_objects): the
# un-localised archive for the tests, and the installed static or shared
# library. Included by src/CMakeLists.txt.

# Un-localised, for in-tree code that needs the private functions (tests).
add_library(myriad_internal STATIC ${myr_objects})
target_include_directories(myriad_internal
  PUBLIC ${PROJECT_SOURCE_DIR}/include ${myr_part_dirs})
target_link_libraries(myriad_internal PUBLIC PkgConfig::CK Threads::Threads)

# The merged, localised object. Needs GNU ld and objcopy (ELF); without them
# the installed library is the plain objects and exports private names too.
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
  add_library(myriad ${myr_merged})
else()
  message(WARNING "myriad: no GNU ld/objcopy: the installed library also exports private symbols")
  add_library(myriad ${myr_objects})
endif()
add_library(myriad::myriad ALIAS myriad)
target_include_directories(myriad
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
         $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(myriad
  PRIVATE PkgConfig::CK $<BUILD_INTERFACE:myr_flags>
  PUBLIC  Threads::Threads)
set_target_properties(myriad PROPERTIES
  LINKER_LANGUAGE C
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  POSITION_INDEPENDENT_CODE ON)
get_target_property(myr_type myriad TYPE)
if(myr_type STREQUAL "SHARED_LIBRARY" AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # belt and braces: hidden symbols are not exported anyway; this also keeps
  # out anything else a toolchain might make global
  set(myr_version_script ${CMAKE_CURRENT_SOURCE_DIR}/myriad.map)
  target_link_options(myriad PRIVATE LINKER:--version-script=${myr_version_script})
  set_property(TARGET myriad APPEND PROPERTY LINK_DEPENDS ${myr_version_script})
endif()
