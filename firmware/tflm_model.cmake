# Add edgekit-generated TFLite Micro sources to a CMake target.
#
#   include(path/to/edgekit/firmware/tflm_model.cmake)
#   edgekit_add_tflm_model(my_firmware ${CMAKE_CURRENT_SOURCE_DIR}/model digits)
#
# DIR holds NAME_model_data.c (or .cc), NAME_model_data.h, NAME_model_settings.h and
# NAME_op_resolver.h as written by `edgekit header` or `edgekit export --target tflm`.
# TFLM itself (tensorflow/lite/micro/...) must already be linked into TARGET.
function(edgekit_add_tflm_model TARGET DIR NAME)
  file(GLOB _edgekit_data "${DIR}/${NAME}_model_data.c" "${DIR}/${NAME}_model_data.cc")
  if(NOT _edgekit_data)
    message(FATAL_ERROR "edgekit: no ${NAME}_model_data.c/.cc in ${DIR}; run `edgekit header`")
  endif()
  target_sources(${TARGET} PRIVATE ${_edgekit_data})
  target_include_directories(${TARGET} PRIVATE ${DIR})
endfunction()
