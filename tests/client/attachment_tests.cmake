# Attachments: the cipher (unit) and the HTTPS transfer and the Client's
# attachment flow against real parleyd processes (integration).
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS headers)
parley_test(client_attachment_unit_test SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/attachment_cipher_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/attachment_store_test.cc
  LIBS parley_client parley_client_store parley_crypto OpenSSL::Crypto)

if(TARGET parleyd)
  parley_test(client_attachment_transfer_test SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/attachment_transfer_test.cc
    LIBS parley_client parley_client_store Boost::headers
    LABELS integration)
  target_compile_definitions(client_attachment_transfer_test PRIVATE PARLEYD_PATH="$<TARGET_FILE:parleyd>")
  add_dependencies(client_attachment_transfer_test parleyd)
endif()

# The Client's attachment flow end to end (the 100 MB round trip takes a few
# seconds). SQLCipher's sqlite3 API alters parleyd's stored blob.
if(TARGET parleyd)
  pkg_check_modules(ATTACHMENT_TEST_SQLCIPHER REQUIRED IMPORTED_TARGET sqlcipher)
  parley_test(client_attachment_e2e_test SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/attachment_e2e_test.cc
    LIBS parley_client OpenSSL::Crypto PkgConfig::ATTACHMENT_TEST_SQLCIPHER
    LABELS integration)
  target_compile_definitions(client_attachment_e2e_test PRIVATE PARLEYD_PATH="$<TARGET_FILE:parleyd>")
  add_dependencies(client_attachment_e2e_test parleyd)
endif()
