# `parley daemon` and `parley chat`: unit tests of the request parser, the
# socket server and the chat model; end to end through the real binaries
# against a real parleyd (the chat in tmux).
find_package(nlohmann_json 3 REQUIRED)
if(TARGET parley_frontends)
  parley_test(frontends_unit_test SOURCES
    daemon_rpc_test.cc
    chat_model_test.cc
    views_test.cc
    LIBS parley_frontends)
  if(TARGET parleyd)
    parley_test(daemon_test SOURCES daemon_test.cc LIBS parley_client nlohmann_json::nlohmann_json
                LABELS integration)
    target_compile_definitions(daemon_test PRIVATE PARLEYD_PATH="$<TARGET_FILE:parleyd>"
                               PARLEY_PATH="$<TARGET_FILE:parley>")
    add_dependencies(daemon_test parleyd parley)
    parley_test(chat_tmux_test SOURCES chat_tmux_test.cc LIBS parley_client LABELS integration)
    target_compile_definitions(chat_tmux_test PRIVATE PARLEYD_PATH="$<TARGET_FILE:parleyd>"
                               PARLEY_PATH="$<TARGET_FILE:parley>")
    add_dependencies(chat_tmux_test parleyd parley)
    # The command line as the README uses it.
    parley_test(cli_test SOURCES cli_test.cc LIBS parley_client nlohmann_json::nlohmann_json LABELS integration)
    target_compile_definitions(cli_test PRIVATE PARLEYD_PATH="$<TARGET_FILE:parleyd>"
                               PARLEY_PATH="$<TARGET_FILE:parley>")
    add_dependencies(cli_test parleyd parley)
  endif()
endif()
