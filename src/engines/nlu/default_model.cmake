# The default NLU model (BANKING77, classify "model: default"): trained at
# build time by the built `voxgate nlu train` into <build>/models/default.vxn.
# It is retrained only when the data or the trainer's sources change (not on
# every relink of voxgate). Included from src/CMakeLists.txt after the
# voxgate target exists. Off in the asan/tsan/fuzz presets (CMakePresets.json):
# a sanitized trainer takes minutes; the tests that need the model skip.
option(VG_BUILD_NLU_MODEL "Train the default NLU model at build time" ON)
# Debug (-O0) trains ~2x slower; 15 epochs there cost 0.6 points of BANKING77
# accuracy (90.8% vs 91.4% on the test set, measured) and halve the time.
if(CMAKE_BUILD_TYPE STREQUAL "Debug")
	set(vg_nlu_model_args_default "--epochs;15")
else()
	set(vg_nlu_model_args_default "")
endif()
set(VG_NLU_MODEL_ARGS "${vg_nlu_model_args_default}" CACHE STRING
	"Extra arguments of `voxgate nlu train` for the default model (a ;-list)")
set(VG_NLU_MODELS_DIR "${PROJECT_BINARY_DIR}/models")

# registry.c's fallback for "default", and main.c's default nlu.models_dir.
set_property(SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/engines/nlu/registry.c
	APPEND PROPERTY COMPILE_DEFINITIONS VG_NLU_MODELS_DIR="${VG_NLU_MODELS_DIR}")
if(TARGET voxgate)
	target_compile_definitions(voxgate PRIVATE VG_NLU_MODELS_DIR="${VG_NLU_MODELS_DIR}")
endif()

if(VG_BUILD_NLU_MODEL AND TARGET voxgate)
	set(vg_nlu_data ${PROJECT_SOURCE_DIR}/data/banking77/train.tsv)
	# What the model depends on: the data and the trainer (not the
	# registry, not the rest of voxgate).
	file(GLOB vg_nlu_trainer CONFIGURE_DEPENDS
		${CMAKE_CURRENT_SOURCE_DIR}/engines/nlu/*.c
		${CMAKE_CURRENT_SOURCE_DIR}/engines/nlu/*.h)
	list(FILTER vg_nlu_trainer EXCLUDE REGEX "/registry\\.[ch]$")
	set(vg_nlu_model ${VG_NLU_MODELS_DIR}/default.vxn)
	# COMMAND voxgate orders the build (voxgate first) without a file
	# dependency on the binary, so relinking voxgate does not retrain.
	add_custom_command(OUTPUT ${vg_nlu_model}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${VG_NLU_MODELS_DIR}
		COMMAND voxgate nlu train --data ${vg_nlu_data} -o ${vg_nlu_model}
			${VG_NLU_MODEL_ARGS}
		DEPENDS ${vg_nlu_data} ${vg_nlu_trainer}
		COMMENT "Training the default NLU model (BANKING77) -> ${vg_nlu_model}"
		VERBATIM)
	add_custom_target(vg_nlu_model ALL DEPENDS ${vg_nlu_model})
endif()
