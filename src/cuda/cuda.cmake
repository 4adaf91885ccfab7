# The optional CUDA backend, included by the top-level CMakeLists.txt.
# Auto-detected: nvcc on the PATH, CUDACXX, or /usr/local/cuda/bin/nvcc.
# It is its own shared library, libmec_cuda.so.MAJOR.MINOR, which libmec
# loads at the first Context::cuda() (src/common/cuda_backend.h): programs
# that only use the CPU never need a CUDA library. Without a CUDA compiler,
# Context::cuda() says that this build has no backend.
# Architecture: sm_90 (H100/H200) unless CMAKE_CUDA_ARCHITECTURES is given.
option(MEC_ENABLE_CUDA "Build the CUDA backend when a CUDA compiler is found" ON)
set(MEC_HAVE_CUDA OFF)
if(MEC_ENABLE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX}
     AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND)
      set(MEC_HAVE_CUDA ON)
    endif()
  endif()
endif()

if(NOT MEC_HAVE_CUDA)
  message(STATUS "mec: CUDA backend OFF (MEC_ENABLE_CUDA=${MEC_ENABLE_CUDA}, CUDA compiler: ${CMAKE_CUDA_COMPILER})")
  return()
endif()

message(STATUS "mec: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES})")
# Always a shared library, even beside a static libmec: it is loaded, not
# linked. It carries its own copy of the few common files it calls (hidden,
# so they never meet libmec's).
add_library(mec_cuda SHARED
  src/common/auto_select.cc
  src/common/desc.cc
  src/common/overrides.cc
  src/common/status.cc
  src/common/version.cc
  src/cpu/fft_tiling.cc
  src/cuda/auto_cuda.cc
  src/cuda/backward.cc
  src/cuda/backward_kernels.cu
  src/cuda/cuda_context.cc
  src/cuda/cuda_plans.cc
  src/cuda/device_memory.cc
  src/cuda/direct.cc
  src/cuda/geometry.cc
  src/cuda/gemm.cc
  src/cuda/im2col.cc
  src/cuda/kernels.cu
  src/cuda/mec.cc
  src/cuda/mec_backward.cc
  src/cuda/mec_gemm.cu
  src/cuda/mec_gemm_policy.cc
  src/cuda/mec_policy.cc
  src/cuda/mec_grouped.cu
  src/cuda/mec_shallow.cu
  src/cuda/winograd.cc
  src/cuda/winograd_kernels.cu
  src/cuda/fft.cc
  src/cuda/fft_kernels.cu
)
set_target_properties(mec_cuda PROPERTIES
  CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}" CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  # Installed, it still finds the CUDA libraries it was built against.
  INSTALL_RPATH_USE_LINK_PATH ON)
target_include_directories(mec_cuda PRIVATE include src)
target_compile_definitions(mec_cuda PRIVATE MEC_EXPORT_NOTHING)
target_compile_options(mec_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-fvisibility=hidden --expt-relaxed-constexpr>)
target_link_options(mec_cuda PRIVATE -Wl,--no-undefined)
target_link_libraries(mec_cuda PRIVATE OpenMP::OpenMP_CXX CUDA::cudart CUDA::cublas CUDA::cufft)
add_dependencies(mec mec_cuda)
