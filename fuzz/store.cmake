# The server store's decoder of its own packed column (sends.copies), which a
# damaged database file can hold anything in.
if(TARGET parley_store)
  parley_fuzzer(stored_copies SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/stored_copies_fuzz.cc LIBS parley_store)
endif()
