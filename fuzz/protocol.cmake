# Protocol layer fuzz targets. Keep one target per line so merges stay trivial.
parley_fuzzer(signal_message SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/signal_message_fuzz.cc LIBS parley_protocol)
parley_fuzzer(prekey_signal_message SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/prekey_signal_message_fuzz.cc LIBS parley_protocol)
parley_fuzzer(session_record SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/session_record_fuzz.cc LIBS parley_protocol)
parley_fuzzer(session_interaction SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/session_interaction_fuzz.cc LIBS parley_protocol)
target_include_directories(fuzz_signal_message PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_include_directories(fuzz_prekey_signal_message PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_include_directories(fuzz_session_interaction PRIVATE ${PROJECT_SOURCE_DIR}/tests)
