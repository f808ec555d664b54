// parley attach: send a file, or download (and verify) a received one.
#pragma once

#include "cli_common.h"

namespace parley::cli {

void AddAttachCommands(Cli& cli);

}  // namespace parley::cli
