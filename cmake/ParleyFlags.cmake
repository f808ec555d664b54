# Compiler flags: warnings, hardening (S4) and sanitizers.
add_library(parley_flags INTERFACE)
target_compile_options(parley_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
if(PARLEY_WERROR)
  target_compile_options(parley_flags INTERFACE -Werror)
endif()

if(PARLEY_SANITIZE OR PARLEY_FUZZ)
  set(PARLEY_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${PARLEY_SAN_FLAGS})
  add_link_options(${PARLEY_SAN_FLAGS})
else()
  # Release hardening: PIE, full RELRO, stack protector, stack-clash
  # protection, CET and _FORTIFY_SOURCE.
  add_compile_options(-fstack-protector-strong -fstack-clash-protection -fcf-protection=full
                      -fPIE $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
  add_link_options(-pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
endif()

if(PARLEY_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PARLEY_FUZZ needs clang (use the 'fuzz' preset)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Under the sanitizers (asan preset) a directory of template-heavy code that the
# unit tests do not run hot (Beast, JSON, command line, SQL) compiles at -O0:
# UBSan instrumentation of optimised templates costs minutes per file there.
# The protocol and crypto layers stay at -O1, where the long interop tests run.
macro(parley_sanitized_compile_at_o0)
  if(PARLEY_SANITIZE AND NOT PARLEY_FUZZ)
    add_compile_options(-O0)
  endif()
endmacro()
