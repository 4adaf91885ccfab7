# ctest driver for mecbench (run with cmake -P):
#   -DMODE=json: runs one tiny grouped, padded, strided shape with every
#     algorithm and the built-in peers, expects exit 0 and a JSON array whose
#     records all carry the documented keys, ran ("ok" or, for fft/winograd,
#     "unsupported") and wrote every output (max_rel_err is a number, so no
#     NaN survived). The 1e-3 bound is a sanity check only; accuracy is
#     tested against per-algorithm tolerances in tests/conv_tester.h.
#   -DMODE=bad: every bad command line must exit with status 2.
# Inputs: MECBENCH (the binary), OUT (a scratch JSON path), PEERS (comma list).
cmake_minimum_required(VERSION 3.20)

if(MODE STREQUAL "json")
  set(args --shape n2h9w11c6k8r3s3pt1pb0pl2pr1u2g2 --threads 1 --reps 1
      --algo direct,im2col,mec_a,mec_b,mec,fft,winograd --json ${OUT})
  if(PEERS)
    list(APPEND args --peer ${PEERS})
  endif()
  file(REMOVE ${OUT})
  execute_process(COMMAND ${MECBENCH} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mecbench ${args} exited ${rc}\n${out}\n${err}")
  endif()
  file(READ ${OUT} json)
  string(JSON n LENGTH "${json}")
  string(REPLACE "," ";" peer_list "${PEERS}")
  list(LENGTH peer_list n_peers)
  math(EXPR expected "7 + ${n_peers}")
  if(NOT n EQUAL expected)
    message(FATAL_ERROR "expected ${expected} records, got ${n}:\n${json}")
  endif()
  set(keys layer shape device algo variant batch threads median_ms min_ms gflops
      workspace_bytes persistent_bytes max_rel_err checked_against status)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    foreach(key ${keys})
      string(JSON value ERROR_VARIABLE missing GET "${json}" ${i} ${key})
      if(missing)
        message(FATAL_ERROR "record ${i} lacks key '${key}':\n${json}")
      endif()
    endforeach()
    string(JSON algo GET "${json}" ${i} algo)
    string(JSON status GET "${json}" ${i} status)
    string(JSON batch GET "${json}" ${i} batch)
    string(JSON checked GET "${json}" ${i} checked_against)
    if(NOT batch EQUAL 2 OR NOT checked STREQUAL "reference")
      message(FATAL_ERROR "record ${i} (${algo}): batch ${batch}, checked against ${checked}")
    endif()
    if(algo STREQUAL "fft" OR algo STREQUAL "winograd")
      if(NOT status STREQUAL "ok" AND NOT status STREQUAL "unsupported")
        message(FATAL_ERROR "record ${i} (${algo}) has status ${status}")
      endif()
    elseif(NOT status STREQUAL "ok")
      message(FATAL_ERROR "record ${i} (${algo}) has status ${status}:\n${json}")
    endif()
    if(status STREQUAL "ok")
      string(JSON type TYPE "${json}" ${i} max_rel_err)
      string(JSON err GET "${json}" ${i} max_rel_err)
      if(NOT type STREQUAL "NUMBER" OR err GREATER 1e-3)
        message(FATAL_ERROR "record ${i} (${algo}): max_rel_err ${err} (${type})")
      endif()
    endif()
  endforeach()
  message(STATUS "mecbench wrote ${n} valid records")
elseif(MODE STREQUAL "bad")
  set(cases "--frobnicate" "--reps;0" "--reps;x" "--threads;-1" "--batch" "--algo;nope"
            "--peer;nope" "--check;maybe" "--suite;no_such_suite" "--shape;h5w5c1k1r7s7"
            "--shape;h5q5")
  foreach(case IN LISTS cases)
    string(REPLACE ";" " " shown "${case}")
    execute_process(COMMAND ${MECBENCH} ${case} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                    ERROR_VARIABLE err)
    if(NOT rc EQUAL 2)
      message(FATAL_ERROR "mecbench ${shown}: exit ${rc}, expected 2\n${out}\n${err}")
    endif()
    if(NOT err MATCHES "^mecbench: ")
      message(FATAL_ERROR "mecbench ${shown}: no message on stderr: '${err}'")
    endif()
  endforeach()
  message(STATUS "every bad command line exited 2")
else()
  message(FATAL_ERROR "MODE must be json or bad")
endif()
