# Runs at install time (from install(CODE)), where CMAKE_INSTALL_PREFIX is the prefix really
# being installed to. Inputs: MMKIT_PC_IN, MMKIT_PC_OUT, MMKIT_PC_VERSION, MMKIT_PC_DESCRIPTION,
# MMKIT_PC_INCLUDEDIR (relative to the prefix, or absolute), MMKIT_PC_DESTINATION (likewise).
# mmkit is header-only: the generated file has a Cflags line and deliberately no Libs line.
set(MMKIT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${MMKIT_PC_INCLUDEDIR}")
  set(MMKIT_PC_INCLUDEDIR_FULL "${MMKIT_PC_INCLUDEDIR}")
else()
  set(MMKIT_PC_INCLUDEDIR_FULL "\${prefix}/${MMKIT_PC_INCLUDEDIR}")
endif()
if(IS_ABSOLUTE "${MMKIT_PC_DESTINATION}")
  set(_mmkit_pc_dest "${MMKIT_PC_DESTINATION}")
else()
  set(_mmkit_pc_dest "${CMAKE_INSTALL_PREFIX}/${MMKIT_PC_DESTINATION}")
endif()
configure_file("${MMKIT_PC_IN}" "${MMKIT_PC_OUT}" @ONLY)
# file(INSTALL) honours DESTDIR and records the file in install_manifest.txt.
file(INSTALL DESTINATION "${_mmkit_pc_dest}" TYPE FILE FILES "${MMKIT_PC_OUT}")
