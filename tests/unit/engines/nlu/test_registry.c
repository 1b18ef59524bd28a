/* Tests of the NLU model registry: loading by name from a directory, name
 * rules, clear errors, the built-in "default" fallback, lock-free finds
 * while another thread loads, and the model built at build time. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engines/nlu/classifier.h"
#include "engines/nlu/registry.h"

static const char tiny_tsv[] = "card_lost\tI lost my card\n"
			       "card_lost\tmy card is missing\n"
			       "card_lost\tcan't find my card anywhere\n"
			       "balance\twhat is my balance\n"
			       "balance\thow much money do I have\n"
			       "balance\tcheck my account balance please\n"
			       "transfer\tsend money to my friend\n"
			       "transfer\ttransfer fifty dollars to savings\n"
			       "transfer\tI want to make a transfer\n";

struct fixture {
	char dir[64];	  /* models */
	char builtin[80]; /* a stand-in for the build's models dir */
	char names[NLU_REGISTRY_MODELS_MAX + 8][NLU_REGISTRY_NAME_MAX + 1];
	unsigned nnames;
};

static void save_tiny(const char *path)
{
	struct nlu_dataset *ds = NULL;
	assert_int_equal(
		nlu_dataset_parse(tiny_tsv, strlen(tiny_tsv), &ds, NULL), 0);
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	cfg.feat.dim_bits = 12;
	cfg.epochs = 10;
	cfg.holdout = 0.3f;
	struct nlu_model *m = NULL;
	assert_int_equal(nlu_model_train(&m, ds, &cfg), 0);
	nlu_dataset_destroy(ds);
	assert_int_equal(nlu_model_save(m, path), 0);
	nlu_model_destroy(m);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-nlureg-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->builtin, sizeof(f->builtin), "%s/builtin", f->dir);
	if (mkdir(f->builtin, 0700))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX];
	static const char *const files[] = { "tiny", "garbage", "default",
					     "empty", "Tiny_2-b" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s.vxn", f->dir, files[i]);
		unlink(p);
	}
	for (unsigned i = 0; i < f->nnames; i++) {
		snprintf(p, sizeof(p), "%s/%s.vxn", f->dir, f->names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/default.vxn", f->builtin);
	unlink(p);
	snprintf(p, sizeof(p), "%s/other.vxn", f->builtin);
	unlink(p);
	rmdir(f->builtin);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void model_file(struct fixture *f, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s.vxn", f->dir, name);
	save_tiny(p);
}

static void loaded_model_is_found_by_name_and_classifies(void **state)
{
	struct fixture *f = *state;
	model_file(f, "tiny");
	struct nlu_registry *r = NULL;
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, NULL), 0);
	assert_null(nlu_registry_find(r, "tiny"));
	assert_int_equal(nlu_registry_count(r), 0);

	char err[256] = "";
	assert_int_equal(nlu_registry_load(r, "tiny", err, sizeof(err)), 0);
	struct nlu_model *m = nlu_registry_find(r, "tiny");
	assert_non_null(m);
	assert_int_equal(nlu_model_nlabels(m), 3);
	struct nlu_result res;
	assert_int_equal(nlu_classify(m, "i lost my card", &res), 0);
	assert_string_equal(res.top[0].intent, "card_lost");

	/* Loading again keeps the same object (flows hold it). */
	assert_int_equal(nlu_registry_load(r, "tiny", err, sizeof(err)), 0);
	assert_ptr_equal(nlu_registry_find(r, "tiny"), m);
	assert_int_equal(nlu_registry_count(r), 1);

	/* Names are exact. */
	assert_null(nlu_registry_find(r, "TINY"));
	assert_null(nlu_registry_find(r, "tin"));
	assert_null(nlu_registry_find(r, NULL));
	assert_null(nlu_registry_find(NULL, "tiny"));
	nlu_registry_destroy(r);
	nlu_registry_destroy(NULL);
}

static void bad_names_are_refused_with_a_message(void **state)
{
	struct fixture *f = *state;
	model_file(f, "Tiny_2-b");
	struct nlu_registry *r = NULL;
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, NULL), 0);
	char name65[NLU_REGISTRY_NAME_MAX + 2];
	memset(name65, 'a', sizeof(name65) - 1);
	name65[sizeof(name65) - 1] = '\0';
	const char *bad[] = {
		"",	  "../tiny",	 "sub/tiny",	"tiny.vxn", "ti ny",
		"tiny\n", "/etc/passwd", "caf\xc3\xa9", name65,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		assert_int_equal(nlu_registry_load(r, bad[i], err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "bad NLU model name"));
	}
	char err[256] = "";
	assert_int_equal(nlu_registry_load(r, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(nlu_registry_load(NULL, "tiny", NULL, 0), -EINVAL);
	/* Every allowed character, and NULL err is fine. */
	assert_int_equal(nlu_registry_load(r, "Tiny_2-b", NULL, 0), 0);
	/* Exactly 64 characters is a valid name (the file is missing). */
	name65[NLU_REGISTRY_NAME_MAX] = '\0';
	assert_int_equal(nlu_registry_load(r, name65, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(nlu_registry_count(r), 1);
	nlu_registry_destroy(r);
}

static void missing_and_broken_files_say_why(void **state)
{
	struct fixture *f = *state;
	struct nlu_registry *r = NULL;
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, NULL), 0);
	char err[512] = "";
	assert_int_equal(nlu_registry_load(r, "nothere", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "nothere.vxn"));
	assert_non_null(strstr(err, "no such file"));
	assert_non_null(strstr(err, f->dir));

	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/garbage.vxn", f->dir);
	write_file(p, "this is not a model file, just some text to read\n");
	err[0] = '\0';
	assert_int_equal(nlu_registry_load(r, "garbage", err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "garbage.vxn"));
	assert_true(strlen(err) > strlen(p) + 4); /* a reason follows */

	snprintf(p, sizeof(p), "%s/empty.vxn", f->dir);
	write_file(p, "");
	assert_int_equal(nlu_registry_load(r, "empty", NULL, 0), -EBADMSG);
	assert_null(nlu_registry_find(r, "garbage"));
	assert_null(nlu_registry_find(r, "empty"));
	assert_int_equal(nlu_registry_count(r), 0);
	nlu_registry_destroy(r);
}

static void default_falls_back_to_the_builtin_dir(void **state)
{
	struct fixture *f = *state;
	struct nlu_registry *r = NULL;
	char p[PATH_MAX];

	/* Neither dir has it. */
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, f->builtin), 0);
	char err[512] = "";
	assert_int_equal(nlu_registry_load(r, "default", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, f->builtin));

	/* The built-in one. */
	snprintf(p, sizeof(p), "%s/default.vxn", f->builtin);
	save_tiny(p);
	assert_int_equal(nlu_registry_load(r, "default", err, sizeof(err)), 0);
	assert_non_null(nlu_registry_find(r, "default"));
	nlu_registry_destroy(r);

	/* A default.vxn in the models dir wins over the built-in one. */
	snprintf(p, sizeof(p), "%s/default.vxn", f->dir);
	write_file(p, "broken on purpose");
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, f->builtin), 0);
	assert_int_equal(nlu_registry_load(r, "default", err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, f->dir));
	assert_null(strstr(err, "builtin"));
	nlu_registry_destroy(r);

	/* Only "default" falls back. */
	snprintf(p, sizeof(p), "%s/other.vxn", f->builtin);
	save_tiny(p);
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, f->builtin), 0);
	assert_int_equal(nlu_registry_load(r, "other", NULL, 0), -ENOENT);
	nlu_registry_destroy(r);
}

static void bad_directories_are_refused(void **state)
{
	(void)state;
	struct nlu_registry *r = (struct nlu_registry *)0x1;
	assert_int_equal(nlu_registry_create(&r, NULL), -EINVAL);
	assert_int_equal(nlu_registry_create(&r, ""), -EINVAL);
	static char longdir[PATH_MAX + 8];
	memset(longdir, 'd', sizeof(longdir) - 1);
	assert_int_equal(nlu_registry_create(&r, longdir), -EINVAL);
	assert_ptr_equal(r, (struct nlu_registry *)0x1);
	assert_int_equal(nlu_registry_create(NULL, "/tmp"), -EINVAL);
	/* A directory that does not exist (yet) is fine: loads fail. */
	assert_int_equal(nlu_registry_create(&r, "/nonexistent/voxgate"), 0);
	assert_int_equal(nlu_registry_load(r, "x", NULL, 0), -ENOENT);
	nlu_registry_destroy(r);
}

static void registry_holds_a_bounded_number_of_models(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s/tiny.vxn", f->dir);
	save_tiny(src);
	/* Copies of one file under many names. */
	FILE *in = fopen(src, "rb");
	assert_non_null(in);
	static unsigned char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	assert_true(n > 0 && n < sizeof(buf));
	for (unsigned i = 0; i < NLU_REGISTRY_MODELS_MAX + 1; i++) {
		snprintf(f->names[i], sizeof(f->names[i]), "m%u", i);
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s.vxn", f->dir, f->names[i]);
		FILE *out = fopen(p, "wb");
		assert_non_null(out);
		assert_int_equal(fwrite(buf, 1, n, out), n);
		fclose(out);
		f->nnames++;
	}
	struct nlu_registry *r = NULL;
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, NULL), 0);
	for (unsigned i = 0; i < NLU_REGISTRY_MODELS_MAX; i++)
		assert_int_equal(nlu_registry_load(r, f->names[i], NULL, 0), 0);
	char err[256] = "";
	assert_int_equal(nlu_registry_load(r, f->names[NLU_REGISTRY_MODELS_MAX],
					   err, sizeof(err)),
			 -ENOSPC);
	assert_non_null(strstr(err, "at most"));
	/* Already loaded names still succeed. */
	assert_int_equal(nlu_registry_load(r, "m0", NULL, 0), 0);
	assert_int_equal(nlu_registry_count(r), NLU_REGISTRY_MODELS_MAX);
	for (unsigned i = 0; i < NLU_REGISTRY_MODELS_MAX; i++)
		assert_non_null(nlu_registry_find(r, f->names[i]));
	nlu_registry_destroy(r);
}

/* Finds on other threads while the main thread loads: each finder checks
 * that a name, once found, keeps its model (run under TSan too). */
struct finder {
	struct nlu_registry *r;
	atomic_bool *stop;
	struct nlu_model *seen[4];
	bool changed;
	unsigned long finds;
};

static const char *const race_names[4] = { "m0", "m1", "m2", "m3" };

static void *find_loop(void *arg)
{
	struct finder *fd = arg;
	/* Until stopped and every model was seen: the loads may all be done
	 * before this thread first runs. */
	for (;;) {
		bool all = fd->seen[0] && fd->seen[1] && fd->seen[2] &&
			   fd->seen[3];
		if (all && atomic_load(fd->stop))
			break;
		for (int i = 0; i < 4; i++) {
			struct nlu_model *m =
				nlu_registry_find(fd->r, race_names[i]);
			if (m) {
				if (fd->seen[i] && fd->seen[i] != m)
					fd->changed = true;
				fd->seen[i] = m;
				/* The model is complete when visible. */
				if (nlu_model_nlabels(m) != 3)
					fd->changed = true;
			}
			fd->finds++;
		}
	}
	return NULL;
}

static void finds_never_see_a_half_loaded_model(void **state)
{
	struct fixture *f = *state;
	for (unsigned i = 0; i < 4; i++) {
		snprintf(f->names[i], sizeof(f->names[i]), "%s", race_names[i]);
		model_file(f, f->names[i]);
		f->nnames++;
	}
	struct nlu_registry *r = NULL;
	assert_int_equal(nlu_registry_create_dirs(&r, f->dir, NULL), 0);
	atomic_bool stop;
	atomic_init(&stop, false);
	struct finder fd[2] = { { .r = r, .stop = &stop },
				{ .r = r, .stop = &stop } };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&th[i], NULL, find_loop, &fd[i]), 0);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 4; i++)
			assert_int_equal(
				nlu_registry_load(r, race_names[i], NULL, 0),
				0);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_false(fd[i].changed);
		assert_true(fd[i].finds > 0);
	}
	for (int i = 0; i < 4; i++)
		assert_non_null(nlu_registry_find(r, race_names[i]));
	nlu_registry_destroy(r);
}

/* The model CMake builds into <build>/models (VG_BUILD_NLU_MODEL). */
static void build_time_default_model_knows_banking77(void **state)
{
	(void)state;
	const char *dir = nlu_registry_builtin_dir();
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/default.vxn", dir);
	if (!dir[0] || access(p, R_OK) != 0) {
		print_message("no %s (built without VG_BUILD_NLU_MODEL)\n", p);
		skip();
	}
	struct nlu_registry *r = NULL;
	assert_int_equal(nlu_registry_create(&r, "/nonexistent/voxgate"), 0);
	char err[512] = "";
	assert_int_equal(nlu_registry_load(r, "default", err, sizeof(err)), 0);
	struct nlu_model *m = nlu_registry_find(r, "default");
	assert_non_null(m);
	assert_int_equal(nlu_model_nlabels(m), 77);
	static const struct {
		const char *text, *intent;
	} probes[] = {
		{ "i lost my card", "lost_or_stolen_card" },
		{ "how do i activate my new card", "activate_my_card" },
		{ "i forgot my passcode", "passcode_forgotten" },
		{ "my top up failed", "top_up_failed" },
		{ "what is the exchange rate for euros", "exchange_rate" },
	};
	unsigned right = 0;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct nlu_result res;
		assert_int_equal(nlu_classify(m, probes[i].text, &res), 0);
		assert_true(nlu_model_label_find(m, probes[i].intent) >= 0);
		right += !strcmp(res.top[0].intent, probes[i].intent);
	}
	assert_true(right >= 4);
	nlu_registry_destroy(r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(loaded_model_is_found_by_name_and_classifies),
		T(bad_names_are_refused_with_a_message),
		T(missing_and_broken_files_say_why),
		T(default_falls_back_to_the_builtin_dir),
		cmocka_unit_test(bad_directories_are_refused),
		T(registry_holds_a_bounded_number_of_models),
		T(finds_never_see_a_half_loaded_model),
		cmocka_unit_test(build_time_default_model_knows_banking77),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
