parley_fuzzer(proto_reader SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/proto_reader_fuzz.cc LIBS parley_base)
parley_fuzzer(base64 SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/base64_fuzz.cc LIBS parley_base)
