# The client layer's decoders (S4): decrypted message content.
# content.cc is built in directly, so the target does not pull in the
# Beast-based connection.
parley_fuzzer(client_content SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client_content_fuzz.cc
              ${PROJECT_SOURCE_DIR}/src/client/content.cc LIBS parley_base)
# A group message's envelope content: group id, then a SenderKeyMessage.
parley_fuzzer(client_group_envelope SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client_group_envelope_fuzz.cc
              ${PROJECT_SOURCE_DIR}/src/client/content.cc LIBS parley_base parley_protocol)
# Contacts shared by our own other devices (a content's contact-sync body).
parley_fuzzer(client_contact_sync SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client_contact_sync_fuzz.cc
              ${PROJECT_SOURCE_DIR}/src/client/content.cc LIBS parley_base)
# A group change's operations as the client store keeps them, and the
# changes of a group context (with their signatures) re-encoded, checked
# against a key (client/group_signature.h), merged and replayed
# (client/group_state.h).
parley_fuzzer(client_group_ops SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client_group_ops_fuzz.cc
              ${PROJECT_SOURCE_DIR}/src/client/content.cc ${PROJECT_SOURCE_DIR}/src/client/group_state.cc
              ${PROJECT_SOURCE_DIR}/src/client/group_signature.cc LIBS parley_base parley_crypto)
