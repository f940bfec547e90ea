# systemd-analyze verify needs ExecStart's binary to exist: point it at the build tree.
file(READ ${UNIT} text)
string(REPLACE "/usr/bin/primusd" "${BIN}" text "${text}")
file(MAKE_DIRECTORY ${OUT})
file(WRITE ${OUT}/primusd.service "${text}")
execute_process(COMMAND ${ANALYZE} verify ${OUT}/primusd.service
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
# Warnings about the host's other units are not ours; only lines naming primusd.service count.
string(REGEX MATCHALL "[^\n]*primusd\\.service[^\n]*" ours "${out}${err}")
if(NOT rc EQUAL 0 OR ours)
  message(FATAL_ERROR "systemd-analyze verify failed (rc=${rc}):\n${out}${err}")
endif()
message(STATUS "systemd-analyze verify: OK")
