/* `voxgate nlu train|eval|classify` (see cli.h and docs/NLU.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engines/nlu/classifier.h"
#include "engines/nlu/cli.h"
#include "engines/nlu/eval.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: voxgate nlu train --data train.tsv -o model.vxn "
		   "[--epochs N] [--seed N]\n"
		   "                         [--embeddings glove.txt "
		   "[--embeddings-words N]]\n"
		   "       voxgate nlu eval --model model.vxn --data test.tsv "
		   "[--json]\n"
		   "       voxgate nlu classify --model model.vxn [--json] "
		   "\"text\"\n"
		   "\n"
		   "Data files hold `label<TAB>text` lines (# comments).\n");
}

static void progress(void *arg, int pass, uint32_t ep, uint32_t n, double loss)
{
	fprintf(stderr, "nlu train: %s epoch %u/%u loss %.4f\n",
		pass ? "final" : "calibration", ep, n, loss);
}

static int load_data(const char *path, struct nlu_dataset **ds)
{
	size_t line = 0;
	int err = nlu_dataset_load(path, ds, &line);
	if (err == -EBADMSG)
		fprintf(stderr, "%s:%zu: expected label<TAB>text\n", path,
			line);
	else if (err)
		fprintf(stderr, "%s: %s\n", path, strerror(-err));
	return err;
}

static int load_model(const char *path, struct nlu_model **m)
{
	char msg[256] = "";
	int err = nlu_model_load(path, m, msg, sizeof(msg));
	if (err)
		fprintf(stderr, "%s: %s\n", path,
			msg[0] ? msg : strerror(-err));
	return err;
}

/* Parses --name value pairs and flags; positional arguments go to *pos. */
struct opts {
	const char *data, *model, *out, *text, *emb;
	long emb_words;
	int json;
	long epochs;
	long long seed;
	int has_seed;
};

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = -1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--json")) {
			o->json = 1;
			continue;
		}
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (o->text)
				return -EINVAL;
			o->text = a;
			continue;
		}
		if (!v)
			return -EINVAL;
		char *end = NULL;
		if (!strcmp(a, "--data")) {
			o->data = v;
		} else if (!strcmp(a, "--model") || !strcmp(a, "-m")) {
			o->model = v;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
			o->out = v;
		} else if (!strcmp(a, "--epochs")) {
			o->epochs = strtol(v, &end, 10);
			if (*end || o->epochs < 1 || o->epochs > 1000)
				return -EINVAL;
		} else if (!strcmp(a, "--embeddings")) {
			o->emb = v;
		} else if (!strcmp(a, "--embeddings-words")) {
			o->emb_words = strtol(v, &end, 10);
			if (*end || o->emb_words < 1 ||
			    o->emb_words > NLU_EMB_WORDS_MAX)
				return -EINVAL;
		} else if (!strcmp(a, "--seed")) {
			o->seed = strtoll(v, &end, 0);
			if (*end)
				return -EINVAL;
			o->has_seed = 1;
		} else {
			return -EINVAL;
		}
		i++;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_train(const struct opts *o)
{
	if (!o->data || !o->out || o->text) {
		usage(stderr);
		return 2;
	}
	struct nlu_dataset *ds = NULL;
	if (load_data(o->data, &ds))
		return 1;
	struct nlu_train_cfg cfg;
	nlu_train_cfg_default(&cfg);
	struct nlu_emb *emb = NULL;
	if (o->emb) {
		size_t line = 0;
		int e = nlu_emb_load(o->emb, (uint32_t)o->emb_words, &emb,
				     &line);
		if (e == -EBADMSG)
			fprintf(stderr, "%s:%zu: expected word v1 ... vN\n",
				o->emb, line);
		else if (e)
			fprintf(stderr, "%s: %s\n", o->emb, strerror(-e));
		if (e) {
			nlu_dataset_destroy(ds);
			return 1;
		}
		fprintf(stderr, "nlu train: embeddings %u words x %u\n", emb->n,
			emb->dim);
		nlu_train_cfg_embeddings(&cfg, emb);
	}
	if (o->epochs > 0)
		cfg.epochs = (uint32_t)o->epochs;
	if (o->has_seed)
		cfg.seed = (uint64_t)o->seed;
	cfg.progress = progress;
	fprintf(stderr, "nlu train: %zu examples, %zu intents\n", ds->n,
		ds->nlabels);
	struct nlu_model *m = NULL;
	double t0 = now_s();
	int err = nlu_model_train(&m, ds, &cfg);
	nlu_dataset_destroy(ds);
	nlu_emb_destroy(emb);
	if (err) {
		fprintf(stderr, "nlu train: %s\n", strerror(-err));
		return 1;
	}
	err = nlu_model_save(m, o->out);
	if (err)
		fprintf(stderr, "%s: %s\n", o->out, strerror(-err));
	else
		fprintf(stderr,
			"nlu train: wrote %s in %.1f s (temperature %.3f)\n",
			o->out, now_s() - t0, nlu_model_temperature(m));
	nlu_model_destroy(m);
	return err ? 1 : 0;
}

static int cmd_eval(const struct opts *o)
{
	if (!o->data || !o->model || o->text) {
		usage(stderr);
		return 2;
	}
	struct nlu_model *m = NULL;
	struct nlu_dataset *ds = NULL;
	struct nlu_eval *e = NULL;
	int rc = 1;
	if (load_model(o->model, &m) || load_data(o->data, &ds))
		goto out;
	int err = nlu_eval_run(m, ds, &e);
	if (err) {
		fprintf(stderr, "nlu eval: %s\n", strerror(-err));
		goto out;
	}
	nlu_eval_print(e, m, stdout, o->json);
	rc = 0;
out:
	nlu_eval_destroy(e);
	nlu_dataset_destroy(ds);
	nlu_model_destroy(m);
	return rc;
}

static int cmd_classify(const struct opts *o)
{
	if (!o->model || !o->text) {
		usage(stderr);
		return 2;
	}
	struct nlu_model *m = NULL;
	if (load_model(o->model, &m))
		return 1;
	struct nlu_result r;
	int err = nlu_classify(m, o->text, &r);
	if (err) {
		fprintf(stderr, "nlu classify: %s\n", strerror(-err));
		nlu_model_destroy(m);
		return 1;
	}
	if (o->json) {
		printf("{\"out_of_scope\":%s,\"threshold\":%.3f,"
		       "\"interpretations\":[",
		       r.out_of_scope ? "true" : "false",
		       nlu_model_oos_threshold(m));
		for (size_t i = 0; i < r.n; i++) {
			printf("%s{\"intent\":", i ? "," : "");
			nlu_json_str_print(stdout, r.top[i].intent);
			printf(",\"confidence\":%.4f}", r.top[i].confidence);
		}
		printf("]}\n");
	} else {
		for (size_t i = 0; i < r.n; i++)
			printf("%.4f  %s\n", r.top[i].confidence,
			       r.top[i].intent);
		if (r.out_of_scope)
			printf("out of scope (top confidence below %.2f)\n",
			       nlu_model_oos_threshold(m));
	}
	nlu_model_destroy(m);
	return 0;
}

int nlu_cli_main(int argc, char **argv)
{
	struct opts o;
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (parse(argc - 2, argv + 2, &o)) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "train"))
		return cmd_train(&o);
	if (!strcmp(argv[1], "eval"))
		return cmd_eval(&o);
	if (!strcmp(argv[1], "classify"))
		return cmd_classify(&o);
	fprintf(stderr, "voxgate nlu: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
