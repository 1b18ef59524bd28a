/* Replays a libFuzzer corpus directory through LLVMFuzzerTestOneInput, so every
 * crash once found stays a regression test in the ordinary (ASan) build. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	uint8_t *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	if (!buf)
		return -1;
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			if (run_file(argv[i]) == 0)
				files++;
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 de->d_name);
			struct stat st;
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			    run_file(path) == 0)
				files++;
		}
		closedir(d);
	}
	printf("replayed %d inputs\n", files);
	if (files == 0) {
		fprintf(stderr, "no corpus inputs found\n");
		return 1;
	}
	return 0;
}
