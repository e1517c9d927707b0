# Writes OUTPUT, a header defining HOIST_SOURCE_COMMIT: the commit checked out in
# SOURCE_DIR, or "" when SOURCE_DIR is not the root of a git checkout (a source tarball)
# or git is missing. Run at every build; the file is rewritten only when the commit
# changed, so that a new commit recompiles one file and nothing else.
set(commit "")
find_program(GIT_PROGRAM git)
if(GIT_PROGRAM)
    execute_process(
        COMMAND ${GIT_PROGRAM} -C ${SOURCE_DIR} rev-parse --show-toplevel
        OUTPUT_VARIABLE top OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
    file(REAL_PATH "${SOURCE_DIR}" source_root)
    if(NOT failed AND top STREQUAL source_root)
        execute_process(
            COMMAND ${GIT_PROGRAM} -C ${SOURCE_DIR} rev-parse --verify --quiet HEAD
            OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
            RESULT_VARIABLE failed)
        if(failed)
            set(commit "")
        endif()
    endif()
endif()
set(content "// Written by tools/source_commit.cmake at build time.\n#pragma once\n")
string(APPEND content "#define HOIST_SOURCE_COMMIT \"${commit}\"\n")
set(previous "")
if(EXISTS "${OUTPUT}")
    file(READ "${OUTPUT}" previous)
endif()
if(NOT previous STREQUAL content)
    file(WRITE "${OUTPUT}" "${content}")
endif()
