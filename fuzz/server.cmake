# parleyd's decoders outside the wire protocol: the attachment request
# headers (credentials, ids, numbers, ranges). Built from the source file
# alone, so the fuzz preset (which leaves the Beast-based server out) has it.
parley_fuzzer(attachment_http
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/attachment_http_fuzz.cc ${PROJECT_SOURCE_DIR}/src/server/attachment_http.cc
  LIBS parley_base parley_wire)
