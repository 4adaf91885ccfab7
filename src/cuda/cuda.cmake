# The optional CUDA backend, included by the top-level CMakeLists.txt after
# the mec target exists. Auto-detected: nvcc on the PATH, CUDACXX, or
# /usr/local/cuda/bin/nvcc. Without it the build is the CPU-only one plus
# src/common/no_cuda.cc (Context::cuda() returns kUnsupported). With it,
# MEC_HAVE_CUDA is defined for the library and everything linking it.
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

if(MEC_HAVE_CUDA)
  message(STATUS "mec: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")
  # mec exists already, so its CUDA properties are set directly.
  set_target_properties(mec PROPERTIES CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}"
                                       CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_sources(mec PRIVATE
    src/cuda/cuda_context.cc
    src/cuda/cuda_plans.cc
    src/cuda/device_memory.cc
    src/cuda/direct.cc
    src/cuda/gemm.cc
    src/cuda/im2col.cc
    src/cuda/kernels.cu
    src/cuda/mec.cc
    src/cuda/mec_gemm.cu
    src/cuda/mec_grouped.cu
    src/cuda/mec_shallow.cu
    src/cuda/winograd.cc
    src/cuda/winograd_kernels.cu
    src/cuda/fft.cc
    src/cuda/fft_kernels.cu
  )
  target_compile_definitions(mec PUBLIC MEC_HAVE_CUDA=1)
  target_compile_options(mec PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra --expt-relaxed-constexpr>)
  target_link_libraries(mec PRIVATE CUDA::cudart CUDA::cublas CUDA::cufft)
else()
  message(STATUS "mec: CUDA backend OFF (MEC_ENABLE_CUDA=${MEC_ENABLE_CUDA}, CUDA compiler: ${CMAKE_CUDA_COMPILER})")
  target_sources(mec PRIVATE src/common/no_cuda.cc)
endif()
