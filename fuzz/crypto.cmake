# libsignal-protocol-c is the reference the XEdDSA fuzzer compares against.
pkg_check_modules(FUZZ_SIGNAL_PROTOCOL_C REQUIRED IMPORTED_TARGET libsignal-protocol-c)

parley_fuzzer(xeddsa_verify SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/xeddsa_verify_fuzz.cc
              LIBS parley_crypto PkgConfig::FUZZ_SIGNAL_PROTOCOL_C)
parley_fuzzer(cipher_decrypt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cipher_decrypt_fuzz.cc LIBS parley_crypto)
