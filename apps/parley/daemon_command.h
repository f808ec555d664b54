// `parley daemon`: serves the profile over JSON-RPC 2.0 (docs/client.md).
#pragma once

#include "cli_common.h"

namespace parley::cli {

void AddDaemonCommand(Cli& cli);

}  // namespace parley::cli
