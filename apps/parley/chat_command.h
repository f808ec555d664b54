// `parley chat`: the terminal chat on ncurses (docs/client.md).
#pragma once

#include "cli_common.h"

namespace parley::cli {

void AddChatCommand(Cli& cli);

}  // namespace parley::cli
