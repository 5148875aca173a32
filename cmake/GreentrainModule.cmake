# greentrain_module_headers(TARGET FOLDER): TARGET's headers are src/FOLDER/*.h, included as
# "FOLDER/name.h" by TARGET and by whatever links TARGET, and by nothing else. Each module has
# its own include root, <build>/module-include/TARGET, holding a single link FOLDER → src/FOLDER,
# published as TARGET's PUBLIC include directory; so a module sees exactly the headers of the
# modules it links (directly or through their PUBLIC dependencies), and including a header of a
# module it does not link fails to compile instead of linking by luck.
function(greentrain_module_headers target folder)
  set(root ${PROJECT_BINARY_DIR}/module-include/${target})
  get_filename_component(parent ${root}/${folder} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(NOT EXISTS ${root}/${folder})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${folder} ${root}/${folder} SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC ${root})
endfunction()

# greentrain_unity_build(TARGET): TARGET compiles as a CMake unity build, its sources in batches
# of ten per translation unit, so the headers every file includes (fmt, nlohmann/json, the
# standard library) are parsed once per batch instead of once per file. File-local names
# (anonymous namespaces, static helpers) must therefore be unique within the module.
function(greentrain_unity_build target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 10)
endfunction()
