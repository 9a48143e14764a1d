# Extract one of the README's runnable C examples.
#
#   cmake -DREADME=<path/to/README.md> -DNAME=<name> -DOUTPUT=<out.c> -P extract_readme_example.cmake
#
# Takes the first fenced block opened with ```c after the line `<!-- readme-example NAME -->` and
# writes its body to OUTPUT, preceded by a #line directive so that compiler diagnostics point
# into README.md. OUTPUT is only rewritten when its content changes.
cmake_minimum_required(VERSION 3.20)

if(NOT DEFINED README OR NOT DEFINED OUTPUT OR NOT DEFINED NAME)
  message(FATAL_ERROR "usage: cmake -DREADME=<README.md> -DNAME=<name> -DOUTPUT=<file.c> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
if(NOT EXISTS "${README}")
  message(FATAL_ERROR "${README} does not exist")
endif()

set(marker "<!-- readme-example ${NAME} -->")

# file(READ) keeps the text as one string; splitting it into a CMake list would mangle the
# semicolons of the C code.
file(READ "${README}" text)
string(REPLACE "\r\n" "\n" text "${text}")

string(FIND "${text}" "${marker}" pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "${README}: no line `${marker}` found")
endif()
string(LENGTH "${marker}" len)
math(EXPR after "${pos} + ${len}")
string(SUBSTRING "${text}" 0 ${after} head)
string(SUBSTRING "${text}" ${after} -1 rest)

# The opening fence: ```c at the start of a line, then optional blanks, then end of line.
string(REGEX MATCH "\n[ \t]*```[cC][ \t]*\n" fence "${rest}")
if(fence STREQUAL "")
  message(FATAL_ERROR "${README}: no ```c block after `${marker}`")
endif()
string(FIND "${rest}" "${fence}" fence_pos)
string(LENGTH "${fence}" fence_len)
math(EXPR body_start "${fence_pos} + ${fence_len}")
string(SUBSTRING "${rest}" 0 ${body_start} before_body)
string(SUBSTRING "${rest}" ${body_start} -1 rest)

# The closing fence: ``` alone on a line.
string(REGEX MATCH "(^|\n)[ \t]*```[ \t]*(\n|$)" close "${rest}")
if(close STREQUAL "")
  message(FATAL_ERROR "${README}: the ```c block after `${marker}` is not closed")
endif()
string(FIND "${rest}" "${close}" close_pos)
string(SUBSTRING "${rest}" 0 ${close_pos} body)
string(STRIP "${body}" body_stripped)
if(body_stripped STREQUAL "")
  message(FATAL_ERROR "${README}: the ```c block after `${marker}` is empty")
endif()

# Line number of the first body line, for #line.
string(REGEX MATCHALL "\n" nl_head "${head}${before_body}")
list(LENGTH nl_head first_line)
math(EXPR first_line "${first_line} + 1")

set(content "/* Generated from ${README} by extract_readme_example.cmake - do not edit. */\n")
string(APPEND content "#line ${first_line} \"${README}\"\n${body}\n")

if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
