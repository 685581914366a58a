/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * replay: drives any libFuzzer target without libFuzzer, so that every ctest run exercises it
 * (ASan/UBSan included when the build has them). Link it with one target, which provides
 *
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *   size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);   (0 past the last seed; a
 *                                                               target without seeds returns 0)
 *
 * Usage: <target>_replay N [path ...]   runs the seeds, then N deterministic inputs: mostly
 *                                       mutations of the seeds (bit flips, interesting bytes,
 *                                       truncation, insertion, deletion, duplication, splicing,
 *                                       length and count fields pushed to their limits), some
 *                                       pseudo-random bytes; then each file as one input (to
 *                                       replay a crash that libFuzzer found), and each file of
 *                                       a directory, in name order (the target's corpus in
 *                                       tests/fuzz/corpus/, regressions included).
 *        <target>_replay -seeds DIR     writes the seeds as files, a starting corpus for
 *                                       libFuzzer.
 * Every input is passed in a heap buffer of exactly its size, so ASan sees any over-read.
 * A crash ends the process, so reaching the last line means none happened.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define MAX_SEEDS 256
#define MAX_INPUT (1u << 17)      /* larger than any input a target needs to see */

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static unsigned nseeds;
static uint8_t work[MAX_INPUT];
static uint8_t scratch[MAX_INPUT];

static uint64_t rng = 0x6d6573686e6f6465ull;   /* fixed: every run sees the same inputs */

/* splitmix64 */
static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

static void run(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n > 0 ? n : 1);
	if (c == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		exit(1);
	}
	if (n > 0)
		memcpy(c, p, n);
	LLVMFuzzerTestOneInput(c, n);
	free(c);
}

/* Bytes that mean something to msgpack-style parsers, and the edges of integer ranges. */
static const uint8_t interesting[] = {
	0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4,
	0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4,
	0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xed, 0xf4, 0xfe, 0xff,
};

/* Size of the length or count field that follows a header byte, or 0. */
static size_t field_size(uint8_t b)
{
	switch (b) {
	case 0xc4: case 0xd9: return 1;
	case 0xc5: case 0xda: case 0xdc: case 0xde: return 2;
	case 0xc6: case 0xdb: case 0xdd: case 0xdf: return 4;
	case 0xcc: return 1;
	case 0xcd: return 2;
	case 0xce: return 4;
	case 0xcf: return 8;
	}
	return 0;
}

/* Inserts k bytes at pos (from src, or random when src is NULL). */
static size_t insert(size_t len, size_t pos, const uint8_t *src, size_t k)
{
	if (len > MAX_INPUT || pos > len)
		return len;               /* cannot happen; also tells gcc len - pos cannot wrap */
	if (k > MAX_INPUT - len)
		k = MAX_INPUT - len;
	memmove(work + pos + k, work + pos, len - pos);
	for (size_t i = 0; i < k; i++)
		work[pos + i] = src != NULL ? src[i] : (uint8_t)rnd();
	return len + k;
}

static size_t mutate_once(size_t len)
{
	size_t pos = below(len);
	switch (below(10)) {
	case 0:                                   /* flip a bit */
		if (len > 0)
			work[pos] ^= (uint8_t)(1u << below(8));
		break;
	case 1:                                   /* an interesting byte */
		if (len > 0)
			work[pos] = interesting[below(sizeof interesting)];
		break;
	case 2:                                   /* truncate */
		len = below(len + 1);
		break;
	case 3:                                   /* insert a few bytes */
		len = insert(len, below(len + 1), NULL, 1 + below(4));
		break;
	case 4: {                                 /* delete a range */
		size_t k = below(len - pos + 1);
		memmove(work + pos, work + pos + k, len - pos - k);
		len -= k;
		break;
	}
	case 5: {                                 /* duplicate a range */
		size_t k = below(len - pos + 1);
		if (k > sizeof scratch)
			k = sizeof scratch;
		memcpy(scratch, work + pos, k);
		len = insert(len, below(len + 1), scratch, k);
		break;
	}
	case 6: {                                 /* splice in the tail of another seed */
		unsigned s = (unsigned)below(nseeds);
		size_t from = below(seed_len[s] + 1), k = seed_len[s] - from;
		if (k > MAX_INPUT - pos)
			k = MAX_INPUT - pos;
		memcpy(work + pos, seeds[s] + from, k);
		len = pos + k;
		break;
	}
	case 7:
	case 8: {                                 /* push a length, count or uint to an edge */
		for (size_t tries = 0; tries < 16 && len > 0; tries++) {
			size_t at = below(len), k = field_size(work[at]);
			uint8_t h = work[at];
			if ((h & 0xe0) == 0xa0 || (h & 0xe0) == 0x80) {
				/* fixstr to 31 bytes, fixmap/fixarray to 15 entries */
				work[at] = (h & 0xe0) == 0xa0 ? 0xbf : (uint8_t)(h | 0x0f);
				break;
			}
			if (k == 0 || k > len - at - 1)
				continue;
			uint64_t v = 0;
			for (size_t i = 0; i < k; i++)
				v = v << 8 | work[at + 1 + i];
			switch (below(5)) {
			case 0: v = UINT64_MAX; break;                 /* all ones */
			case 1: v += 1; break;
			case 2: v -= 1; break;
			case 3: v = 0; break;
			default: v = (uint64_t)1 << below(8 * k); break;
			}
			for (size_t i = 0; i < k; i++)
				work[at + k - i] = (uint8_t)(v >> (8 * i));
			break;
		}
		break;
	}
	default:                                  /* overwrite a few random bytes */
		for (size_t i = 0, k = 1 + below(4); i < k && len > 0; i++)
			work[below(len)] = (uint8_t)rnd();
		break;
	}
	return len;
}

static int write_seeds(const char *dir)
{
	char path[4096];
	for (unsigned i = 0; i < nseeds; i++) {
		snprintf(path, sizeof path, "%s/seed-%03u", dir, i);
		FILE *f = fopen(path, "wb");
		if (f == NULL || fwrite(seeds[i], 1, seed_len[i], f) != seed_len[i]) {
			fprintf(stderr, "replay: cannot write %s\n", path);
			if (f != NULL)
				fclose(f);
			return 1;
		}
		fclose(f);
	}
	printf("replay: wrote %u seeds to %s\n", nseeds, dir);
	return 0;
}

static unsigned long nfiles;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	if (f == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return 1;
	}
	n = fread(work, 1, sizeof work, f);
	fclose(f);
	run(work, n);
	nfiles++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every file of a directory (not its subdirectories or dot files), sorted. */
static int replay_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL, full[4096];
	size_t n = 0, cap = 0;
	int rc = 0;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return replay_file(path);
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
			if (nn == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		snprintf(full, sizeof full, "%s/%s", path, names[i]);
		if (rc == 0 && stat(full, &st) == 0 && S_ISREG(st.st_mode))
			rc = replay_file(full);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 ? strrchr(argv[0], '/') : NULL;
	unsigned long iters;
	char *end;

	name = name != NULL ? name + 1 : (argc > 0 ? argv[0] : "replay");
	for (nseeds = 0; nseeds < MAX_SEEDS; nseeds++) {
		size_t n = fuzz_seeds(work, sizeof work, nseeds);
		if (n == 0)
			break;
		seeds[nseeds] = malloc(n);
		if (seeds[nseeds] == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			return 1;
		}
		memcpy(seeds[nseeds], work, n);
		seed_len[nseeds] = n;
	}
	if (argc == 3 && strcmp(argv[1], "-seeds") == 0)
		return write_seeds(argv[2]);
	if (argc < 2 || (iters = strtoul(argv[1], &end, 10), *end != '\0')) {
		fprintf(stderr, "usage: %s N [file ...] | -seeds DIR\n", name);
		return 2;
	}

	for (unsigned i = 0; i < nseeds; i++)
		run(seeds[i], seed_len[i]);
	for (unsigned long i = 0; i < iters; i++) {
		size_t len;
		if (nseeds == 0 || below(8) == 0) {
			/* pseudo-random bytes, mostly msgpack headers and small values */
			len = below(below(4) == 0 ? 600 : 48);
			for (size_t k = 0; k < len; k++)
				work[k] = below(2) ? interesting[below(sizeof interesting)]
				                   : (uint8_t)rnd();
		} else {
			unsigned s = (unsigned)below(nseeds);
			len = seed_len[s];
			memcpy(work, seeds[s], len);
			for (size_t k = 1 + below(4); k > 0; k--)
				len = mutate_once(len);
		}
		run(work, len);
	}
	for (int i = 2; i < argc; i++)
		if (replay_path(argv[i]) != 0)
			return 1;

	printf("%s: %lu inputs (%u seeds, %lu files), 0 crashes\n", name,
	       iters + nseeds + nfiles, nseeds, nfiles);
	for (unsigned i = 0; i < nseeds; i++)
		free(seeds[i]);
	return 0;
}
