# vigil_proto_library(NAME PROTOS a.proto ... [GRPC])
# Generates C++ from proto/ (paths relative to it) into the build tree and builds a static
# library of it. No protobuf runtime is linked here: the PID-1 core links the static lite
# runtime, vigil-control and vigilctl the full one, and a binary must not get both.
function(vigil_proto_library name)
  cmake_parse_arguments(P "GRPC" "" "PROTOS" ${ARGN})
  set(gen_dir ${PROJECT_BINARY_DIR}/gen)
  set(sources)
  foreach(proto ${P_PROTOS})
    get_filename_component(dir ${proto} DIRECTORY)
    get_filename_component(stem ${proto} NAME_WE)
    set(outputs ${gen_dir}/${dir}/${stem}.pb.cc ${gen_dir}/${dir}/${stem}.pb.h)
    set(args --cpp_out=${gen_dir})
    if(P_GRPC)
      list(APPEND outputs ${gen_dir}/${dir}/${stem}.grpc.pb.cc ${gen_dir}/${dir}/${stem}.grpc.pb.h)
      list(APPEND args --grpc_out=${gen_dir} --plugin=protoc-gen-grpc=${VIGIL_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${gen_dir}
      COMMAND ${VIGIL_PROTOC} -I${PROJECT_SOURCE_DIR}/proto ${args}
              ${PROJECT_SOURCE_DIR}/proto/${proto}
      DEPENDS ${PROJECT_SOURCE_DIR}/proto/${proto}
      COMMENT "protoc ${proto}")
    list(FILTER outputs INCLUDE REGEX "\\.cc$")
    list(APPEND sources ${outputs})
  endforeach()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} SYSTEM PUBLIC ${gen_dir})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
