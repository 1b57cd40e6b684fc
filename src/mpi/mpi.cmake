# mpi: one simulation over Open MPI ranks (include/myriad/mpi.h), a library
# of its own, libmyriad_mpi.a, on the public API of the library (world,
# query, schedule, snapshot). Built only when CMake's FindMPI finds MPI for
# C: the core library, myriad-tune and the .deb never depend on MPI.
# Included by src/CMakeLists.txt.
find_package(MPI COMPONENTS C QUIET)
if(MPI_C_FOUND AND NOT CMAKE_CROSSCOMPILING)
  add_library(myriad_mpi STATIC mpi/mpi.c mpi/exchange.c mpi/ghosts.c mpi/forward.c mpi/checkpoint.c)
  target_include_directories(myriad_mpi
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/mpi)
  # mkstemp, fsync, fchmod
  target_compile_definitions(myriad_mpi PRIVATE _DEFAULT_SOURCE)
  target_link_libraries(myriad_mpi PUBLIC myriad::myriad MPI::MPI_C PRIVATE $<BUILD_INTERFACE:myr_flags> m)
  set_target_properties(myriad_mpi PROPERTIES OUTPUT_NAME myriad_mpi POSITION_INDEPENDENT_CODE ON)
  add_library(myriad::myriad_mpi ALIAS myriad_mpi)
  install(TARGETS myriad_mpi ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  message(STATUS "myriad: the MPI part (myriad_mpi) is built, on MPI ${MPI_C_VERSION}")
else()
  message(STATUS "myriad: no MPI for C (FindMPI), or a cross build: the MPI part (myriad_mpi) is not built")
endif()
