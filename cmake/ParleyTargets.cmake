# Helpers that give every target of the project the same shape.

# parley_layer(NAME SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
# A layer library `parley_<NAME>`; headers are included as "<NAME>/file.h".
function(parley_layer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(parley_${name} STATIC ${ARG_SOURCES})
  target_include_directories(parley_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(parley_${name} PUBLIC ${ARG_DEPS} PRIVATE parley_flags ${ARG_PRIVATE_DEPS})
endfunction()

# parley_test(NAME SOURCES ... LIBS ... [LABELS ...])
# A GoogleTest executable whose tests are registered with CTest one by one.
function(parley_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} parley_flags GTest::gtest GTest::gtest_main GTest::gmock)
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS "${labels}")
endfunction()
