# `cmake --install`: the public headers, libmec (and its CUDA backend when
# built), mecbench, a CMake package (find_package(mec CONFIG) gives
# mec::mec) and mec.pc for pkg-config. Both package files locate the install
# prefix from where they sit, so `--prefix` at install time is honoured.
include(CMakePackageConfigHelpers)
set(MEC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mec)

install(TARGETS mec EXPORT mecTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/mec DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET mec_cuda)
  # Loaded by file name (libmec_cuda.so.MAJOR.MINOR), never linked.
  install(TARGETS mec_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_SKIP)
endif()
if(TARGET mecbench)
  file(RELATIVE_PATH mec_bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
  set_target_properties(mecbench PROPERTIES INSTALL_RPATH "$ORIGIN/${mec_bin_to_lib}"
                                            INSTALL_RPATH_USE_LINK_PATH ON)
  install(TARGETS mecbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # Its --suite files; mecbench looks for them at ../share/mec/shapes.
  install(DIRECTORY bench/shapes DESTINATION ${CMAKE_INSTALL_DATADIR}/mec)
endif()
install(FILES LICENSE CHANGELOG.md README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# CMake package.
install(EXPORT mecTargets NAMESPACE mec:: DESTINATION ${MEC_CMAKE_DIR})
configure_package_config_file(cmake/mecConfig.cmake.in ${PROJECT_BINARY_DIR}/mecConfig.cmake
                              INSTALL_DESTINATION ${MEC_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mecConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mecConfig.cmake ${PROJECT_BINARY_DIR}/mecConfigVersion.cmake
        DESTINATION ${MEC_CMAKE_DIR})

# pkg-config. A static libmec also needs OpenMP, the CBLAS, FFTW3 and libdl.
set(MEC_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH MEC_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${MEC_PC_DIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" MEC_PC_TO_PREFIX "${MEC_PC_TO_PREFIX}")
set(MEC_PC_LIBS_PRIVATE "${OpenMP_CXX_FLAGS}")
foreach(lib ${MEC_BLAS_LIBRARY} ${MEC_FFTW3F_LIBRARY} ${CMAKE_DL_LIBS})
  if(IS_ABSOLUTE "${lib}")
    string(APPEND MEC_PC_LIBS_PRIVATE " ${lib}")
  else()
    string(APPEND MEC_PC_LIBS_PRIVATE " -l${lib}")
  endif()
endforeach()
configure_file(cmake/mec.pc.in ${PROJECT_BINARY_DIR}/mec.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mec.pc DESTINATION ${MEC_PC_DIR})
