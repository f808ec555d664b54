// Logging: key=value lines on standard error, through spdlog.
//
// Each line is "ts=<UTC time> level=<level> event=<name> key=value ...".
// The server logs metadata only (connection ids, sizes, reasons, counts):
// never frame or message contents, credentials, keys or tokens.
#pragma once

#include "server/config.h"

namespace parley::server {

// Installs the stderr logger as spdlog's default logger at `level`.
// Safe to call again (tests, reconfiguration).
void ConfigureLogging(LogLevel level);

}  // namespace parley::server
