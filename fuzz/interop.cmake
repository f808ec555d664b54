parley_fuzzer(interop_request SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/interop_request_fuzz.cc LIBS parley_interop_core)
