# The wire layer's decoders (S4): whole frames, and each message decoder on its
# own, grouped by family. Family targets share wire_family_fuzz.cc; a define
# picks the family's message types.
parley_fuzzer(wire_frame SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/wire_frame_fuzz.cc LIBS parley_wire)
foreach(family envelope account keys messages)
  parley_fuzzer(wire_${family} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/wire_family_fuzz.cc LIBS parley_wire)
  string(TOUPPER ${family} family_define)
  target_compile_definitions(fuzz_wire_${family} PRIVATE PARLEY_WIRE_FUZZ_${family_define})
endforeach()
