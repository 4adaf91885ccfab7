# ctest driver for mecbench (run with cmake -P), one mode per ctest test:
#   json: runs one tiny grouped, padded, strided shape with every
#     algorithm and the built-in peers, expects exit 0 and a JSON array whose
#     records all carry the documented keys, ran ("ok" or, for fft/winograd,
#     "unsupported") and wrote every output (max_rel_err is a number, so no
#     NaN survived). The 1e-3 bound is a sanity check only; accuracy is
#     tested against per-algorithm tolerances in tests/conv_tester.h.
#   bad_options: every bad command line must exit with status 2.
#   huge: a valid layer too big to allocate (h = 2^40) between two small
#     ones is one error line, not an abort; the others run; exit 1.
#   json_path: an unwritable --json path exits 2 before anything runs.
#   json_each_layer: killed while its second layer runs, mecbench has
#     already written the first layer's records.
#   threads: --threads 4096 is recorded as the count the library runs.
#   utf8: a layer name that is not UTF-8 exits 2; UTF-8 names round-trip.
#   sampled: a layer above 2 GFLOP is checked against the double reference
#     at sampled points (never against direct: errors are not 0).
#   dry_run: --dry-run plans every algorithm (one layer needs 64 GiB of
#     inputs: none are made) and records each plan's variant, named after
#     the algorithm it runs, with its workspace and null timings.
#   workspace_limit: --workspace-limit 0 leaves auto a plan without
#     workspace (ok, workspace_bytes 0) and refuses im2col (over_limit, the
#     library's message in note, exit 0), timed and under --dry-run; records
#     carry workspace_limit and create_ms; --auto-mode measure chooses within
#     4k; a byte count that is not one exits 2.
# Inputs: MECBENCH (the binary), OUT (a scratch JSON path), PEERS (comma list).
cmake_minimum_required(VERSION 3.20)

# Runs mecbench with ARGN; rc, out and err in the caller's scope.
function(run_mecbench)
  execute_process(COMMAND ${MECBENCH} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 120)
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

# Fails unless mecbench exited `expected`.
macro(expect_exit expected)
  if(NOT "${rc}" STREQUAL "${expected}")
    string(REPLACE ";" " " shown "${ARGN}")
    message(FATAL_ERROR "mecbench ${shown}: exit '${rc}', expected ${expected}\n${out}\n${err}")
  endif()
endmacro()

# The JSON array in OUT, checked to be one, and its length.
macro(read_records)
  file(READ ${OUT} json)
  string(JSON n ERROR_VARIABLE bad LENGTH "${json}")
  if(bad)
    message(FATAL_ERROR "${OUT} is not a JSON array (${bad}):\n${json}")
  endif()
endmacro()

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
elseif(MODE STREQUAL "bad_options")
  # One case per element, its arguments separated by '|' (a ';' inside a
  # quoted element would split it into several cases).
  set(cases "--frobnicate" "--reps|0" "--reps|x" "--threads|-1" "--batch" "--algo|nope"
            "--peer|nope" "--check|maybe" "--suite|no_such_suite" "--shape|h5w5c1k1r7s7"
            "--shape|h5q5" "--dry-run|--peer|onednn" "--auto-mode|fast")
  foreach(case IN LISTS cases)
    string(REPLACE "|" ";" case "${case}")
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
  # --version names mecbench's and the library's version.
  execute_process(COMMAND ${MECBENCH} --version RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "^mecbench [0-9]+\\.[0-9]+\\.[0-9]+ \\(libmec [0-9.]+\\)")
    message(FATAL_ERROR "mecbench --version: exit ${rc}, printed '${out}'")
  endif()
elseif(MODE STREQUAL "huge")
  # 2^40 rows: 4 TiB of src, a valid descriptor that no machine can hold.
  set(args --shape a=h6w7c3k4r3s3p1,huge=h1099511627776w1c1k1,b=h5w5c2k3r2s2 --algo mec,direct
      --threads 1 --reps 1 --json ${OUT})
  run_mecbench(${args})
  expect_exit(1 ${args})
  string(REGEX REPLACE "(^|\n)mecbench: wrote [^\n]*" "" err_lines "${err}")
  string(REGEX MATCHALL "(^|\n)mecbench: [^\n]*" errors "${err_lines}")
  list(LENGTH errors n_errors)
  if(NOT n_errors EQUAL 1 OR NOT errors MATCHES "^\n?mecbench: huge: ")
    message(FATAL_ERROR "expected one error line for layer huge, got:\n${err}")
  endif()
  read_records()
  if(NOT n EQUAL 4)
    message(FATAL_ERROR "expected the 4 records of layers a and b, got ${n}:\n${json}")
  endif()
  foreach(i RANGE 3)
    string(JSON layer GET "${json}" ${i} layer)
    string(JSON status GET "${json}" ${i} status)
    if(layer STREQUAL "huge" OR NOT status STREQUAL "ok")
      message(FATAL_ERROR "record ${i}: layer ${layer}, status ${status}:\n${json}")
    endif()
  endforeach()
  string(STRIP "${errors}" errors)
  message(STATUS "huge layer: ${errors}; the others ran")
elseif(MODE STREQUAL "json_path")
  # All of the paper's layers would take minutes: the path must fail first.
  set(args --suite paper --json /nonexistent-dir/mecbench.json)
  execute_process(COMMAND ${MECBENCH} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 20)
  expect_exit(2 ${args})
  if(NOT err MATCHES "^mecbench: --json: cannot write /nonexistent-dir/mecbench.json"
     OR err MATCHES "preparing" OR NOT out STREQUAL "")
    message(FATAL_ERROR "expected only the --json error, before anything ran:\n${out}\n${err}")
  endif()
  message(STATUS "unwritable --json: ${err}")
elseif(MODE STREQUAL "json_each_layer")
  # Layer a takes well under a second; layer b's 20000 timed runs take at
  # least 20 s (0.3 GFLOP each), so the timeout kills mecbench during b.
  set(args --shape a=h4w4c2k2r1s1,b=n1h64w64c64k64r3s3p1 --algo mec --threads 1 --reps 20000
      --json ${OUT})
  file(REMOVE ${OUT})
  execute_process(COMMAND ${MECBENCH} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 3)
  if(rc EQUAL 0)
    message(FATAL_ERROR "mecbench finished within the timeout: nothing shown\n${err}")
  endif()
  read_records()
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "killed during layer b (${rc}), expected layer a's record:\n${json}\n${err}")
  endif()
  string(JSON layer GET "${json}" 0 layer)
  string(JSON status GET "${json}" 0 status)
  if(NOT layer STREQUAL "a" OR NOT status STREQUAL "ok")
    message(FATAL_ERROR "expected layer a's record:\n${json}")
  endif()
  message(STATUS "killed during layer b (${rc}); layer a's record was on disk")
elseif(MODE STREQUAL "threads")
  # The library runs at most 8 threads per processor (Context::cpu);
  # nproc counts the processors this process may use, as OpenMP does.
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=OMP_NUM_THREADS
                  --unset=OMP_THREAD_LIMIT nproc OUTPUT_VARIABLE procs
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE nproc_rc)
  if(NOT nproc_rc EQUAL 0)
    cmake_host_system_information(RESULT procs QUERY NUMBER_OF_LOGICAL_CORES)
  endif()
  math(EXPR expected "8 * ${procs}")
  if(expected GREATER 4096)
    set(expected 4096)
  endif()
  set(args --shape h6w6c4k4r3s3p1 --algo mec,direct --threads 4096 --reps 1 --json ${OUT})
  if(PEERS)
    list(APPEND args --peer ${PEERS})
  endif()
  run_mecbench(${args})
  expect_exit(0 ${args})
  read_records()
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON threads GET "${json}" ${i} threads)
    string(JSON algo GET "${json}" ${i} algo)
    if(NOT threads EQUAL expected)
      message(FATAL_ERROR "${algo}: threads ${threads}, the library runs ${expected}:\n${err}")
    endif()
  endforeach()
  if(expected LESS 4096 AND NOT err MATCHES "using ${expected}\n")
    message(FATAL_ERROR "no note that --threads 4096 became ${expected}:\n${err}")
  endif()
  message(STATUS "--threads 4096 ran and was recorded as ${expected} threads")
elseif(MODE STREQUAL "utf8")
  # Not UTF-8: a lone 0xFF, an overlong '/', a surrogate, a cut sequence;
  # by --shape and by a shape file.
  string(ASCII 255 ff)
  string(ASCII 192 175 overlong)
  string(ASCII 237 160 128 surrogate)
  string(ASCII 226 130 cut)
  file(WRITE ${OUT}.txt "ok h5w5c1k1\nbad${ff} h5w5c1k1\n")
  set(cases "--shape|x${ff}=h5w5c1k1" "--shape|${overlong}=h5w5c1k1"
            "--shape|${surrogate}=h5w5c1k1" "--shape|a${cut}=h5w5c1k1" "--suite|${OUT}.txt")
  foreach(case IN LISTS cases)
    string(REPLACE "|" ";" case "${case}")
    run_mecbench(${case} --algo direct --reps 1)
    expect_exit(2 ${case})
    if(NOT err MATCHES "^mecbench: layer name '[^\n]*' is not valid UTF-8\n$")
      message(FATAL_ERROR "expected one line on the bad name, got:\n${err}")
    endif()
  endforeach()
  # UTF-8 (2, 3 and 4 bytes) and a tab go into the JSON and come back.
  set(name "conv_é_层_𝒳\ttab")
  run_mecbench(--shape "${name}=h5w5c1k1" --algo direct --threads 1 --reps 1 --json ${OUT})
  expect_exit(0 --shape "${name}=h5w5c1k1")
  read_records()
  string(JSON layer GET "${json}" 0 layer)
  if(NOT layer STREQUAL name)
    message(FATAL_ERROR "layer name '${name}' came back as '${layer}':\n${json}")
  endif()
  message(STATUS "bad names exited 2; '${name}' round-tripped")
elseif(MODE STREQUAL "sampled")
  # 2.7 GFLOP, above the 2 GFLOP of the whole reference: sampled. mec and
  # direct have the same summation order, so against direct (the old
  # choice) mec's error would be 0; against the double reference it is not.
  # Then --check sampled and --check direct, explicit, on a small layer.
  # Arguments, then the expected checked_against, separated by '|'.
  set(cases "--shape|big=n1h96w96c128k128r3s3p1|--check|auto|reference_sampled"
            "--shape|mid=n2h20w20c8k64r3s3p1|--check|sampled|reference_sampled"
            "--shape|mid=n2h20w20c8k64r3s3p1|--check|direct|direct")
  foreach(case IN LISTS cases)
    string(REPLACE "|" ";" case "${case}")
    list(POP_BACK case against)
    run_mecbench(${case} --algo mec,direct --threads 1 --reps 1 --json ${OUT})
    expect_exit(0 ${case})
    read_records()
    foreach(i 0 1)
      string(JSON algo GET "${json}" ${i} algo)
      string(JSON checked GET "${json}" ${i} checked_against)
      string(JSON type TYPE "${json}" ${i} max_rel_err)
      string(JSON err GET "${json}" ${i} max_rel_err)
      if(NOT checked STREQUAL against OR NOT type STREQUAL "NUMBER" OR err GREATER 1e-4)
        message(FATAL_ERROR "${case}: ${algo} checked against ${checked}, error ${err}:\n${json}")
      endif()
      # Against the double reference a float result is never exact here.
      if(against MATCHES "^reference" AND NOT err GREATER 0)
        message(FATAL_ERROR "${case}: ${algo} has error 0 against ${against}:\n${json}")
      endif()
    endforeach()
    message(STATUS "${case}: checked against ${against}")
  endforeach()
elseif(MODE STREQUAL "dry_run")
  set(algos direct im2col mec_a mec_b mec auto fft winograd winograd_f2 winograd_f4)
  string(REPLACE ";" "," algo_list "${algos}")
  set(args --shape a=n2h9w11c6k8r3s3pt1pb0pl2pr1u2g2,b=n3h12w12c8k16r3s3p1
      --shape big=n1h1048576w1024c16k16r3s3p1 --algo ${algo_list} --threads 2 --dry-run
      --json ${OUT})
  file(REMOVE ${OUT})
  execute_process(COMMAND ${MECBENCH} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 30)
  expect_exit(0 ${args})
  if(NOT out MATCHES "\nlayer +shape +algo +variant +workspace_bytes\n")
    message(FATAL_ERROR "no plan table on stdout:\n${out}")
  endif()
  read_records()
  list(LENGTH algos n_algos)
  math(EXPR expected "3 * ${n_algos}")
  if(NOT n EQUAL expected)
    message(FATAL_ERROR "expected ${expected} records, got ${n}:\n${json}")
  endif()
  math(EXPR last "${n} - 1")
  set(planned 0)
  foreach(i RANGE ${last})
    string(JSON algo GET "${json}" ${i} algo)
    string(JSON status GET "${json}" ${i} status)
    string(JSON variant GET "${json}" ${i} variant)
    string(JSON median TYPE "${json}" ${i} median_ms)
    string(JSON error TYPE "${json}" ${i} max_rel_err)
    string(JSON ws TYPE "${json}" ${i} workspace_bytes)
    string(JSON checked GET "${json}" ${i} checked_against)
    if(NOT median STREQUAL "NULL" OR NOT error STREQUAL "NULL" OR NOT ws STREQUAL "NUMBER"
       OR NOT checked STREQUAL "none")
      message(FATAL_ERROR "record ${i} (${algo}): timed, checked or without a workspace:\n${json}")
    endif()
    if(status STREQUAL "unsupported")
      continue()
    elseif(NOT status STREQUAL "ok")
      message(FATAL_ERROR "record ${i} (${algo}) has status ${status}:\n${json}")
    endif()
    # The variant starts with the concrete algorithm: kMec and kAuto resolve
    # to mec_a or mec_b, kWinograd to winograd_f2 or winograd_f4.
    set(name "${algo}")
    if(algo STREQUAL "mec" OR algo STREQUAL "auto")
      set(name "mec_[ab]")
    elseif(algo STREQUAL "winograd")
      set(name "winograd_f[24]")
    endif()
    if(NOT variant MATCHES "^${name}(/[a-z0-9_-]+)*$")
      message(FATAL_ERROR "record ${i} (${algo}): variant '${variant}'")
    endif()
    math(EXPR planned "${planned} + 1")
  endforeach()
  message(STATUS "--dry-run: ${planned} of ${n} plans made and named, nothing run")
elseif(MODE STREQUAL "workspace_limit")
  set(args --shape n1h9w9c4k8r3s3p1 --algo auto,im2col,direct --threads 1 --reps 1
      --workspace-limit 0 --json ${OUT})
  foreach(dry "" --dry-run)
    file(REMOVE ${OUT})
    run_mecbench(${args} ${dry})
    expect_exit(0 ${args} ${dry})
    read_records()
    if(NOT n EQUAL 3)
      message(FATAL_ERROR "${dry}: expected 3 records, got ${n}:\n${json}")
    endif()
    foreach(i 0 1 2)
      string(JSON algo GET "${json}" ${i} algo)
      string(JSON status GET "${json}" ${i} status)
      string(JSON note GET "${json}" ${i} note)
      string(JSON ws GET "${json}" ${i} workspace_bytes)
      string(JSON limit ERROR_VARIABLE missing GET "${json}" ${i} workspace_limit)
      string(JSON create TYPE "${json}" ${i} create_ms)
      if(NOT limit STREQUAL "0" OR NOT create STREQUAL "NUMBER")
        message(FATAL_ERROR "${dry} ${algo}: workspace_limit '${limit}', create_ms ${create}")
      endif()
      if(algo STREQUAL "im2col")
        if(NOT status STREQUAL "over_limit" OR NOT note MATCHES "needs [0-9]+ bytes")
          message(FATAL_ERROR "${dry} im2col: status ${status}, note '${note}'")
        endif()
      elseif(NOT status STREQUAL "ok" OR NOT ws EQUAL 0)
        message(FATAL_ERROR "${dry} ${algo}: status ${status}, workspace ${ws}:\n${json}")
      endif()
    endforeach()
  endforeach()
  if(NOT out MATCHES "\ns1 +[^ ]+ +im2col +over_limit - [^\n]*needs")
    message(FATAL_ERROR "--dry-run: no over_limit row for im2col:\n${out}")
  endif()
  # The timed run (the first) printed the auto table.
  run_mecbench(${args})
  if(NOT out MATCHES "\nauto \\(mode model\\) [^\n]*within the workspace limit of 0 bytes")
    message(FATAL_ERROR "no auto table within the limit:\n${out}")
  endif()
  run_mecbench(--shape n1h9w9c4k8r3s3p1 --algo auto --threads 1 --reps 1 --auto-mode measure
               --workspace-limit 4k --json ${OUT})
  expect_exit(0 --auto-mode measure)
  read_records()
  string(JSON mode GET "${json}" 0 auto_mode)
  string(JSON ws GET "${json}" 0 workspace_bytes)
  string(JSON status GET "${json}" 0 status)
  if(NOT mode STREQUAL "measure" OR NOT status STREQUAL "ok" OR ws GREATER 4096)
    message(FATAL_ERROR "--auto-mode measure: ${mode}, ${status}, workspace ${ws}:\n${json}")
  endif()
  foreach(bad 12Q 1.5M -1 M "" 99999999999G)
    run_mecbench(--shape h5w5c1k1 --algo direct --dry-run "--workspace-limit=${bad}")
    expect_exit(2 "--workspace-limit=${bad}")
    if(NOT err MATCHES "^mecbench: --workspace-limit ")
      message(FATAL_ERROR "--workspace-limit '${bad}': no message on stderr: '${err}'")
    endif()
  endforeach()
  message(STATUS "limit 0: auto planned without workspace, im2col over_limit; bad counts exit 2")
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
