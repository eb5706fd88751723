# cudasim.cmake — included by CMakeLists.txt when SCRATCHNET_CUDASIM=ON: builds
# scratchnet_cuda from kernels/*.cu for the CPU emulator in tools/cudasim (each
# .cu converted to C++ by convert.py), without cuDNN or cuBLAS. For running the
# [cuda] tests' kernel logic on machines without a GPU:
#   cmake -S . -B build/cudasim -G Ninja -DSCRATCHNET_CUDASIM=ON && cmake --build build/cudasim --target scratchnet_tests
#   ./build/cudasim/scratchnet_tests "[cuda]~[cudnn]"
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(SN_SIM_DIR ${CMAKE_CURRENT_SOURCE_DIR}/tools/cudasim)
file(GLOB SN_SIM_CU CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/kernels/*.cu)
set(SN_SIM_GENERATED)
foreach(cu ${SN_SIM_CU})
  get_filename_component(name ${cu} NAME_WE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/cudasim/${name}.cu.cpp)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/cudasim
    COMMAND Python3::Interpreter ${SN_SIM_DIR}/convert.py ${cu} ${out}
    DEPENDS ${cu} ${SN_SIM_DIR}/convert.py VERBATIM)
  list(APPEND SN_SIM_GENERATED ${out})
endforeach()
set(SN_SIM_HOST)
foreach(f allocator stream device pinned linear select)
  list(APPEND SN_SIM_HOST ${CMAKE_CURRENT_SOURCE_DIR}/kernels/${f}.cpp)
endforeach()
add_library(scratchnet_cuda STATIC ${SN_SIM_GENERATED} ${SN_SIM_HOST} ${SN_SIM_DIR}/cudasim.cpp
            ${SN_SIM_DIR}/cudnn_stubs.cpp)
target_include_directories(scratchnet_cuda BEFORE PUBLIC ${SN_SIM_DIR})
target_compile_definitions(scratchnet_cuda PUBLIC SCRATCHNET_CUDASIM=1)
target_link_libraries(scratchnet_cuda PUBLIC scratchnet_base)
