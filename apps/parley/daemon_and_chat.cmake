# `parley daemon` and `parley chat`: their testable parts as a library that
# the parley binary and tests/client link; the commands themselves (sockets
# and signals, ncurses) are built into parley.
set(CURSES_NEED_WIDE TRUE)
find_package(Curses REQUIRED)

add_library(parley_frontends STATIC rpc_request.cc rpc_methods.cc daemon_server.cc chat_model.cc views.cc)
target_include_directories(parley_frontends PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(parley_frontends PUBLIC parley_client nlohmann_json::nlohmann_json PRIVATE parley_flags)

target_sources(parley PRIVATE daemon_command.cc chat_command.cc)
target_include_directories(parley PRIVATE ${CURSES_INCLUDE_DIRS})
target_link_libraries(parley PRIVATE parley_frontends ${CURSES_LIBRARIES})
