# Shared build helpers for the project's own targets.

# Warnings (as errors on our own code only), hidden visibility, sanitizers.
function(hsapreempt_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter
                         -fvisibility=hidden -fvisibility-inlines-hidden)
  if(HSAPREEMPT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include)
endfunction()

if(HSAPREEMPT_SANITIZE)
  add_compile_options(-fsanitize=${HSAPREEMPT_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${HSAPREEMPT_SANITIZE})
endif()

# GPU code objects (gfx90a) with Debian's clang-14 + lld. On the simulated device these run by the
# cost convention in include/hsapreempt/sim_kernel_abi.h; on a real GPU they run for real.
find_program(HSAPREEMPT_CLANG NAMES clang-14 clang REQUIRED)
find_program(HSAPREEMPT_LLD NAMES ld.lld-14 ld.lld REQUIRED)
function(hsapreempt_add_code_object name source mcpu)
  # The commands run in the binary dir: make a relative source path absolute from the caller's
  # source dir (DEPENDS would resolve it there, the compiler would not).
  get_filename_component(source ${source} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.o)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.hsaco)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${HSAPREEMPT_CLANG} -x cl -cl-std=CL2.0 -target amdgcn-amd-amdhsa -mcpu=${mcpu}
            -nogpulib -O2 -I${PROJECT_SOURCE_DIR}/include -c ${source} -o ${obj}
    COMMAND ${HSAPREEMPT_LLD} -shared ${obj} -o ${out}
    DEPENDS ${source} ${PROJECT_SOURCE_DIR}/include/hsapreempt/sim_kernel_abi.h
    COMMENT "code object ${name} (${mcpu})" VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${out})
  set_target_properties(${name} PROPERTIES HSACO_PATH ${out})
endfunction()
