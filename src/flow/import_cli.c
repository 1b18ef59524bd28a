/* `voxgate flow import --from connect|genesys|archy FILE [--values F]
 * [--intents F] [--lenient] -o OUT`: import, write, then load the result
 * to check it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import.h"

static int slurp(const char *path, char **bufp, size_t *lenp)
{
	return file_read_all(path, FLOW_IMPORT_MAX_INPUT, bufp, lenp);
}

static void print_errors(const struct flow_errors *e, FILE *f)
{
	for (size_t i = 0; i < e->count; i++)
		fprintf(f, "%s\n", e->msg[i]);
	if (e->dropped)
		fprintf(f, "... and %zu more errors\n", e->dropped);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: voxgate flow import --from connect|genesys|archy "
		   "FILE [--values F.yaml] [--intents F.yaml] [--lenient] "
		   "-o OUT.yaml\n");
}

static int write_out(const char *path, const struct strbuf *sb)
{
	if (!strcmp(path, "-")) {
		fputs(strbuf_str(sb), stdout);
		return 0;
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t n = fwrite(strbuf_str(sb), 1, sb->len, f);
	int err = n != sb->len ? -EIO : 0;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int flow_import_cli(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "values", required_argument, NULL, 'v' },
		{ "intents", required_argument, NULL, 'i' },
		{ "lenient", no_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from_s = NULL, *values = NULL, *intents = NULL;
	const char *out = NULL;
	bool lenient = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			from_s = optarg;
			break;
		case 'v':
			values = optarg;
			break;
		case 'i':
			intents = optarg;
			break;
		case 'l':
			lenient = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	enum flow_import_from from;
	if (!from_s || flow_import_from_parse(from_s, &from)) {
		fprintf(stderr, "voxgate flow import: --from must be connect, "
				"genesys or archy\n");
		usage(stderr);
		return 2;
	}
	if (optind != argc - 1 || !out) {
		usage(stderr);
		return 2;
	}
	const char *file = argv[optind];
	struct flow_import_opts io = { .lenient = lenient,
				       .values_file = values,
				       .intents_file = intents };
	char *src = NULL, *vbuf = NULL, *ibuf = NULL;
	size_t len = 0;
	const char *bad = NULL;
	int err = slurp(file, &src, &len);
	if (err)
		bad = file;
	if (!err && values) {
		err = slurp(values, &vbuf, &io.values_len);
		io.values = vbuf;
		if (err)
			bad = values;
	}
	if (!err && intents) {
		err = slurp(intents, &ibuf, &io.intents_len);
		io.intents = ibuf;
		if (err)
			bad = intents;
	}
	int rc = 0;
	struct flow_errors *errs = calloc(1, sizeof(*errs));
	struct strbuf sb;
	strbuf_init(&sb, FLOW_MAX_FILE_BYTES);
	if (err) {
		fprintf(stderr, "%s: cannot read: %s\n", bad,
			err == -E2BIG ? "too big" : strerror(-err));
		rc = 1;
	} else if (!errs) {
		rc = 1;
	} else if (flow_import(from, file, src, len, &io, &sb, errs)) {
		print_errors(errs, stderr);
		rc = 1;
	} else if ((err = write_out(out, &sb))) {
		fprintf(stderr, "%s: cannot write: %s\n", out, strerror(-err));
		rc = 1;
	} else {
		/* Check what was written the way the daemon will load it. */
		struct flow *f = NULL;
		flow_errors_clear(errs);
		if (flow_load_buf(out, strbuf_str(&sb), sb.len, &f, errs)) {
			fprintf(stderr, "%s: written, but it does not load:\n",
				out);
			print_errors(errs, stderr);
			rc = 1;
		} else {
			fprintf(stderr, "%s: ok (flow '%s', from %s)\n", out,
				flow_name(f), file);
			flow_deref(f);
		}
	}
	strbuf_fini(&sb);
	free(errs);
	free(src);
	free(vbuf);
	free(ibuf);
	return rc;
}
