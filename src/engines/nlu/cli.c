/* `voxgate nlu train|eval|classify` (see cli.h and docs/NLU.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engines/lexicon/cmudict.h"
#include "engines/nlu/asrnoise.h"
#include "engines/nlu/classifier.h"
#include "engines/nlu/cli.h"
#include "engines/nlu/eval.h"

/* Most words of an --augment-words list. */
#define WORDS_MAX (1L << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxgate nlu train --data train.tsv -o model.vxn "
		"[--epochs N] [--seed N]\n"
		"                         [--embeddings glove.txt "
		"[--embeddings-words N]]\n"
		"                         [--augment none|asr[:K]] "
		"[--dict cmudict.dict]\n"
		"                         [--augment-rates SUB,SPLIT,MERGE,DEL]"
		" [--canon on|off]\n"
		"                         [--augment-words list.txt "
		"[--augment-nwords N]] [--mlp H]\n"
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
	const char *data, *model, *out, *text, *emb, *dict, *words;
	long nwords;
	long emb_words;
	long augment; /* noisy copies; -1: the default */
	int canon;    /* canonical spellings: -1 the default, 0 off, 1 on */
	struct nlu_asrnoise_rates rates;
	int json;
	long epochs;
	long mlp; /* perceptron hidden units; -1: the default (none) */
	long long seed;
	int has_seed;
};

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = -1;
	o->mlp = -1;
	o->augment = -1;
	o->canon = -1;
	o->dict = NLU_ASRNOISE_DICT;
	nlu_asrnoise_rates_default(&o->rates);
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
		} else if (!strcmp(a, "--mlp")) {
			o->mlp = strtol(v, &end, 10);
			if (*end || o->mlp < 0 || o->mlp > NLU_MLP_HIDDEN_MAX)
				return -EINVAL;
		} else if (!strcmp(a, "--embeddings")) {
			o->emb = v;
		} else if (!strcmp(a, "--embeddings-words")) {
			o->emb_words = strtol(v, &end, 10);
			if (*end || o->emb_words < 1 ||
			    o->emb_words > NLU_EMB_WORDS_MAX)
				return -EINVAL;
		} else if (!strcmp(a, "--augment")) {
			if (!strcmp(v, "none")) {
				o->augment = 0;
			} else if (!strcmp(v, "asr")) {
				o->augment = 1;
			} else if (!strncmp(v, "asr:", 4)) {
				o->augment = strtol(v + 4, &end, 10);
				if (end == v + 4 || *end || o->augment < 0 ||
				    o->augment > NLU_ASRNOISE_COPIES_MAX)
					return -EINVAL;
			} else {
				return -EINVAL;
			}
		} else if (!strcmp(a, "--canon")) {
			if (!strcmp(v, "on"))
				o->canon = 1;
			else if (!strcmp(v, "off"))
				o->canon = 0;
			else
				return -EINVAL;
		} else if (!strcmp(a, "--dict")) {
			o->dict = v;
		} else if (!strcmp(a, "--augment-words")) {
			o->words = v;
		} else if (!strcmp(a, "--augment-nwords")) {
			o->nwords = strtol(v, &end, 10);
			if (*end || o->nwords < 1 || o->nwords > WORDS_MAX)
				return -EINVAL;
		} else if (!strcmp(a, "--augment-rates")) {
			float r[4];
			int used = 0;
			if (sscanf(v, "%f,%f,%f,%f%n", &r[0], &r[1], &r[2],
				   &r[3], &used) != 4 ||
			    v[used])
				return -EINVAL;
			for (int k = 0; k < 4; k++)
				if (!(r[k] >= 0 && r[k] <= 1))
					return -EINVAL;
			o->rates = (struct nlu_asrnoise_rates){ r[0], r[1],
								r[2], r[3] };
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

/* The first word of each of the first max lines of path (a word list or
 * a GloVe file, most frequent first) into *words (malloc'd strings). */
static int load_words(const char *path, long max, char ***words, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char line[256];
	char **w = NULL;
	size_t k = 0, cap = 0;
	int err = 0, longline = 0;
	while (!err && (max <= 0 || (long)k < max) &&
	       fgets(line, sizeof(line), f)) {
		int cont = longline;
		longline = !strchr(line, '\n');
		if (cont)
			continue; /* the rest of a long (GloVe) line */
		size_t l = strcspn(line, " \t\r\n");
		if (!l || line[0] == '#')
			continue;
		line[l] = '\0';
		if (k == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			char **nw = nc <= WORDS_MAX
					    ? realloc(w, nc * sizeof(*w))
					    : NULL;
			if (!nw) {
				err = nc <= WORDS_MAX ? -ENOMEM : -E2BIG;
				break;
			}
			w = nw;
			cap = nc;
		}
		if (!(w[k] = strdup(line)))
			err = -ENOMEM;
		else
			k++;
	}
	fclose(f);
	if (err) {
		while (k)
			free(w[--k]);
		free(w);
		return err;
	}
	*words = w;
	*n = k;
	return 0;
}

/* The confusion table of ds from the dictionary at o->dict (and the known
 * words of o->words), into cfg. */
static int load_noise(const struct opts *o, const struct nlu_dataset *ds,
		      struct nlu_asrnoise **out, struct nlu_train_cfg *cfg)
{
	struct cmudict *dict = NULL;
	char **words = NULL;
	size_t nwords = 0;
	int err = cmudict_load(&dict, o->dict);
	if (err) {
		fprintf(stderr,
			"%s: %s (--dict: the CMU dictionary, "
			"package pocketsphinx-en-us)\n",
			o->dict, strerror(-err));
		return err;
	}
	if (o->words &&
	    (err = load_words(o->words, o->nwords, &words, &nwords))) {
		fprintf(stderr, "%s: %s\n", o->words, strerror(-err));
		cmudict_destroy(dict);
		return err;
	}
	err = nlu_asrnoise_build(out, dict, ds, (const char *const *)words,
				 nwords);
	cmudict_destroy(dict);
	for (size_t i = 0; i < nwords; i++)
		free(words[i]);
	free(words);
	if (err) {
		fprintf(stderr, "nlu train: confusion table: %s\n",
			strerror(-err));
		return err;
	}
	fprintf(stderr,
		"nlu train: asr noise: %zu words, %zu merges (%zu known "
		"words); %ld copies (sub %.2f split %.2f merge %.2f del "
		"%.2f)\n",
		nlu_asrnoise_words(*out), nlu_asrnoise_merges(*out), nwords,
		o->augment, (double)o->rates.sub, (double)o->rates.split,
		(double)o->rates.merge, (double)o->rates.del);
	cfg->noise = *out;
	cfg->noise_copies = (uint32_t)o->augment;
	cfg->noise_rates = o->rates;
	return 0;
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
	if (o->mlp >= 0)
		cfg.mlp.hidden = (uint32_t)o->mlp;
	if (o->has_seed)
		cfg.seed = (uint64_t)o->seed;
	if (o->canon >= 0)
		cfg.feat.canon = (uint32_t)o->canon;
	cfg.progress = progress;
	double t0 = now_s();
	struct nlu_asrnoise *noise = NULL;
	if (o->augment > 0 && load_noise(o, ds, &noise, &cfg)) {
		nlu_dataset_destroy(ds);
		nlu_emb_destroy(emb);
		return 1;
	}
	fprintf(stderr, "nlu train: %zu examples, %zu intents\n", ds->n,
		ds->nlabels);
	struct nlu_model *m = NULL;
	int err = nlu_model_train(&m, ds, &cfg);
	nlu_dataset_destroy(ds);
	nlu_emb_destroy(emb);
	nlu_asrnoise_destroy(noise);
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
