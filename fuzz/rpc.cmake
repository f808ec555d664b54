# `parley daemon`'s request parser (S4): JSON-RPC lines from local processes.
find_package(nlohmann_json 3 REQUIRED)
parley_fuzzer(rpc_request SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/rpc_request_fuzz.cc
              ${PROJECT_SOURCE_DIR}/apps/parley/rpc_request.cc LIBS nlohmann_json::nlohmann_json)
target_include_directories(fuzz_rpc_request PRIVATE ${PROJECT_SOURCE_DIR}/apps/parley)
