# serve: the live view's server (include/myriad/serve.h) on libwebsockets,
# a library of its own, libmyriad_serve.a, on the public API of the
# library (stream, schedule, snapshot). Built only when pkg-config finds
# libwebsockets and the library has its stream part: the core library
# never depends on libwebsockets. Included by src/CMakeLists.txt.
pkg_check_modules(LWS IMPORTED_TARGET libwebsockets)
if(LWS_FOUND AND TARGET myriad_stream)
  add_library(myriad_serve STATIC
    serve/serve.c serve/lws.c serve/publish.c serve/figures.c serve/parse.c)
  target_include_directories(myriad_serve
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/serve)
  # open_memstream, getrandom; lws's headers want the BSD socket types
  target_compile_definitions(myriad_serve PRIVATE _DEFAULT_SOURCE)
  target_link_libraries(myriad_serve
    PUBLIC myriad::myriad PkgConfig::LWS Threads::Threads
    PRIVATE $<BUILD_INTERFACE:myr_flags> m)
  set_target_properties(myriad_serve PROPERTIES OUTPUT_NAME myriad_serve POSITION_INDEPENDENT_CODE ON)
  add_library(myriad::myriad_serve ALIAS myriad_serve)
  install(TARGETS myriad_serve ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  # the parser alone, for its tests and its fuzz target
  add_library(myriad_serve_parse STATIC serve/parse.c)
  target_include_directories(myriad_serve_parse PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/serve ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(myriad_serve_parse PRIVATE myr_flags)
  message(STATUS "myriad: the server (myriad_serve) is built, on libwebsockets ${LWS_VERSION}")
elseif(NOT LWS_FOUND)
  message(STATUS "myriad: no libwebsockets (pkg-config): the server (myriad_serve) is not built")
endif()
