# The client's attachment decryptor (S4): blobs downloaded from the server.
# attachment_cipher.cc is built in directly, so the target does not pull in
# the Beast-based parts of the client.
find_package(OpenSSL 3 REQUIRED)
parley_fuzzer(client_attachment_decrypt
              SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client_attachment_decrypt_fuzz.cc
                      ${PROJECT_SOURCE_DIR}/src/client/attachment_cipher.cc
              LIBS parley_base parley_crypto OpenSSL::Crypto)
# Header values of the attachment routes' answers.
parley_fuzzer(client_attachment_headers
              SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client_attachment_headers_fuzz.cc
                      ${PROJECT_SOURCE_DIR}/src/client/attachment_headers.cc
              LIBS parley_base)
