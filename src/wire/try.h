// WIRE_TRY(expr): returns the error of a failed WireStatus from the enclosing
// function. Internal to the wire layer's sources.
#pragma once

#include <utility>

#include "wire/error.h"

#define WIRE_TRY(expr)                                           \
  do {                                                           \
    if (auto wire_try_status = (expr); !wire_try_status) {       \
      return tl::unexpected(std::move(wire_try_status).error()); \
    }                                                            \
  } while (0)
