# The load generator's decoder of bytes from the server under test: the XMPP
# stream scanner of parley-load. Built from its source file alone, so the fuzz
# preset does not need the rest of parley-load (Asio, OpenSSL).
parley_fuzzer(xmpp_scan
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/xmpp_scan_fuzz.cc ${PROJECT_SOURCE_DIR}/bench/parley_load/xmpp_scan.cc
  LIBS parley_base)
target_include_directories(fuzz_xmpp_scan PRIVATE ${PROJECT_SOURCE_DIR}/bench/parley_load)
