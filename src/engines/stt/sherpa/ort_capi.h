/* The part of the onnxruntime C API that voxgate's own Moonshine decoder
 * (moonort.c) calls, declared by us from the public API description: the
 * library exports one symbol, OrtGetApiBase(), whose GetApi(version) returns
 * a table of function pointers ("OrtApi") in a fixed order that later
 * versions only ever append to. We need the exact slot of every function we
 * call, so the table is declared slot by slot up to the last one we use
 * (AddSessionConfigEntry, slot 130); slots we never call are anonymous
 * placeholders. ORT_SLOT_CHECK below asserts each used slot's offset at
 * compile time, so moving a line fails the build;
 * tests/unit/engines/stt/sherpa/ test_moonort.c checks the table against the
 * real library (the version it reports, error messages read through slot 2, a
 * session opened and its inputs listed).
 *
 * Every function returns an OrtStatus pointer: NULL is success, anything
 * else an error to read with get_error_message and free with
 * release_status. */
#ifndef VG_ENGINES_STT_SHERPA_ORT_CAPI_H
#define VG_ENGINES_STT_SHERPA_ORT_CAPI_H
#include <stddef.h>
#include <stdint.h>

/* The table version we ask for: the one whose layout up to slot 130 is
 * described here (every version from 2 on has the same first 131 slots). */
#define ORT_CAPI_VERSION 13u

typedef struct ort_status ort_status;
typedef struct ort_env ort_env;
typedef struct ort_session ort_session;
typedef struct ort_session_options ort_session_options;
typedef struct ort_value ort_value;
typedef struct ort_type_info ort_type_info;
typedef struct ort_tensor_info ort_tensor_info;
typedef struct ort_memory_info ort_memory_info;
typedef struct ort_allocator ort_allocator;
typedef struct ort_run_options ort_run_options;

/* Element types of tensors (the ONNX TensorProto numbering). */
enum ort_elem {
	ORT_ELEM_FLOAT = 1,
	ORT_ELEM_INT64 = 7,
	ORT_ELEM_BOOL = 9,
};

enum ort_log_level { ORT_LOG_WARNING = 2, ORT_LOG_ERROR = 3 };
enum ort_graph_opt { ORT_OPT_ALL = 99 };
enum ort_alloc_type { ORT_ALLOC_ARENA = 1 };
enum ort_mem_type { ORT_MEM_DEFAULT = 0 };

typedef void (*ort_unused_fn)(void); /* a slot we never call */

struct ort_api {
	/* 0 */ ort_unused_fn create_status;
	/* 1 */ ort_unused_fn get_error_code;
	/* 2 */ const char *(*get_error_message)(const ort_status *st);
	/* 3 */ ort_status *(*create_env)(enum ort_log_level level,
					  const char *logid, ort_env **out);
	/* 4..6 */ ort_unused_fn unused_4_6[3];
	/* 7 */ ort_status *(*create_session)(const ort_env *env,
					      const char *model_path,
					      const ort_session_options *opt,
					      ort_session **out);
	/* 8 */ ort_unused_fn create_session_from_array;
	/* 9 */ ort_status *(*run)(ort_session *s, const ort_run_options *ro,
				   const char *const *in_names,
				   const ort_value *const *in, size_t nin,
				   const char *const *out_names, size_t nout,
				   ort_value **out);
	/* 10 */ ort_status *(*create_session_options)(
		ort_session_options **out);
	/* 11..22 */ ort_unused_fn unused_11_22[12];
	/* 23 */ ort_status *(*set_graph_optimization_level)(
		ort_session_options *o, enum ort_graph_opt level);
	/* 24 */ ort_status *(*set_intra_op_num_threads)(ort_session_options *o,
							 int n);
	/* 25 */ ort_status *(*set_inter_op_num_threads)(ort_session_options *o,
							 int n);
	/* 26..29 */ ort_unused_fn unused_26_29[4];
	/* 30 */ ort_status *(*session_get_input_count)(const ort_session *s,
							size_t *out);
	/* 31 */ ort_status *(*session_get_output_count)(const ort_session *s,
							 size_t *out);
	/* 32 */ ort_unused_fn unused_32;
	/* 33 */ ort_status *(*session_get_input_type_info)(
		const ort_session *s, size_t i, ort_type_info **out);
	/* 34 */ ort_status *(*session_get_output_type_info)(
		const ort_session *s, size_t i, ort_type_info **out);
	/* 35 */ ort_unused_fn unused_35;
	/* 36 */ ort_status *(*session_get_input_name)(const ort_session *s,
						       size_t i,
						       ort_allocator *a,
						       char **out);
	/* 37 */ ort_status *(*session_get_output_name)(const ort_session *s,
							size_t i,
							ort_allocator *a,
							char **out);
	/* 38..47 */ ort_unused_fn unused_38_47[10];
	/* 48 */ ort_status *(*create_tensor_as_ort_value)(ort_allocator *a,
							   const int64_t *shape,
							   size_t ndim,
							   enum ort_elem type,
							   ort_value **out);
	/* 49 */ ort_status *(*create_tensor_with_data_as_ort_value)(
		const ort_memory_info *mi, void *data, size_t bytes,
		const int64_t *shape, size_t ndim, enum ort_elem type,
		ort_value **out);
	/* 50 */ ort_unused_fn is_tensor;
	/* 51 */ ort_status *(*get_tensor_mutable_data)(ort_value *v,
							void **out);
	/* 52..54 */ ort_unused_fn unused_52_54[3];
	/* 55 */ ort_status *(*cast_type_info_to_tensor_info)(
		const ort_type_info *ti, const ort_tensor_info **out);
	/* 56..59 */ ort_unused_fn unused_56_59[4];
	/* 60 */ ort_status *(*get_tensor_element_type)(
		const ort_tensor_info *ti, enum ort_elem *out);
	/* 61 */ ort_status *(*get_dimensions_count)(const ort_tensor_info *ti,
						     size_t *out);
	/* 62 */ ort_status *(*get_dimensions)(const ort_tensor_info *ti,
					       int64_t *dims, size_t n);
	/* 63 */ ort_unused_fn get_symbolic_dimensions;
	/* 64 */ ort_unused_fn get_tensor_shape_element_count;
	/* 65 */ ort_status *(*get_tensor_type_and_shape)(
		const ort_value *v, ort_tensor_info **out);
	/* 66..68 */ ort_unused_fn unused_66_68[3];
	/* 69 */ ort_status *(*create_cpu_memory_info)(enum ort_alloc_type t,
						       enum ort_mem_type m,
						       ort_memory_info **out);
	/* 70..75 */ ort_unused_fn unused_70_75[6];
	/* 76 */ ort_status *(*allocator_free)(ort_allocator *a, void *p);
	/* 77 */ ort_unused_fn allocator_get_info;
	/* 78 */ ort_status *(*get_allocator_with_default_options)(
		ort_allocator **out);
	/* 79..91 */ ort_unused_fn unused_79_91[13];
	/* 92 */ void (*release_env)(ort_env *p);
	/* 93 */ void (*release_status)(ort_status *p);
	/* 94 */ void (*release_memory_info)(ort_memory_info *p);
	/* 95 */ void (*release_session)(ort_session *p);
	/* 96 */ void (*release_value)(ort_value *p);
	/* 97 */ ort_unused_fn release_run_options;
	/* 98 */ void (*release_type_info)(ort_type_info *p);
	/* 99 */ void (*release_tensor_type_and_shape_info)(ort_tensor_info *p);
	/* 100 */ void (*release_session_options)(ort_session_options *p);
	/* 101..129 */ ort_unused_fn unused_101_129[29];
	/* 130 */ ort_status *(*add_session_config_entry)(
		ort_session_options *o, const char *key, const char *value);
};

struct ort_api_base {
	const struct ort_api *(*get_api)(uint32_t version);
	const char *(*get_version_string)(void);
};

/* The one exported entry point: "OrtGetApiBase". */
typedef const struct ort_api_base *(*ort_get_api_base_fn)(void);

#define ORT_SLOT_CHECK(field, slot)                             \
	_Static_assert(offsetof(struct ort_api, field) ==       \
			       (slot) * sizeof(void (*)(void)), \
		       "onnxruntime C API: " #field " is not slot " #slot)
ORT_SLOT_CHECK(get_error_message, 2);
ORT_SLOT_CHECK(create_env, 3);
ORT_SLOT_CHECK(create_session, 7);
ORT_SLOT_CHECK(run, 9);
ORT_SLOT_CHECK(create_session_options, 10);
ORT_SLOT_CHECK(set_graph_optimization_level, 23);
ORT_SLOT_CHECK(set_intra_op_num_threads, 24);
ORT_SLOT_CHECK(set_inter_op_num_threads, 25);
ORT_SLOT_CHECK(session_get_input_count, 30);
ORT_SLOT_CHECK(session_get_output_count, 31);
ORT_SLOT_CHECK(session_get_input_type_info, 33);
ORT_SLOT_CHECK(session_get_output_type_info, 34);
ORT_SLOT_CHECK(session_get_input_name, 36);
ORT_SLOT_CHECK(session_get_output_name, 37);
ORT_SLOT_CHECK(create_tensor_as_ort_value, 48);
ORT_SLOT_CHECK(create_tensor_with_data_as_ort_value, 49);
ORT_SLOT_CHECK(get_tensor_mutable_data, 51);
ORT_SLOT_CHECK(cast_type_info_to_tensor_info, 55);
ORT_SLOT_CHECK(get_tensor_element_type, 60);
ORT_SLOT_CHECK(get_dimensions_count, 61);
ORT_SLOT_CHECK(get_dimensions, 62);
ORT_SLOT_CHECK(get_tensor_type_and_shape, 65);
ORT_SLOT_CHECK(create_cpu_memory_info, 69);
ORT_SLOT_CHECK(allocator_free, 76);
ORT_SLOT_CHECK(get_allocator_with_default_options, 78);
ORT_SLOT_CHECK(release_env, 92);
ORT_SLOT_CHECK(release_status, 93);
ORT_SLOT_CHECK(release_memory_info, 94);
ORT_SLOT_CHECK(release_session, 95);
ORT_SLOT_CHECK(release_value, 96);
ORT_SLOT_CHECK(release_type_info, 98);
ORT_SLOT_CHECK(release_tensor_type_and_shape_info, 99);
ORT_SLOT_CHECK(release_session_options, 100);
ORT_SLOT_CHECK(add_session_config_entry, 130);
_Static_assert(sizeof(struct ort_api) == 131 * sizeof(void (*)(void)),
	       "onnxruntime C API: 131 slots declared");
#endif
