/* store_put.c - store-put: seeds a store for tests, fast and straight
 * through the store library (vdcd must not run on it meanwhile): reads
 * lines "KIND JSON" (kind as store_kind_name says: host, vm, member, ...)
 * from stdin and creates each document, a thousand per transaction.
 * usage: store-put URL < docs */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kind_of(const char *name)
{
	for (int k = 0; k < STORE_NKINDS; k++)
		if (!strcmp(store_kind_name((enum store_kind)k), name))
			return k;
	return -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: store-put URL < lines of \"KIND JSON\"\n", stderr);
		return 2;
	}
	struct errinfo e = {0};
	struct store *st = store_open(argv[1], &e);
	if (!st) {
		fprintf(stderr, "store-put: %s\n", e.message);
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	long n = 0, lineno = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, stdin) > 0) {
		lineno++;
		char *sp = strchr(line, ' ');
		if (!sp) {
			fprintf(stderr, "store-put: line %ld: want \"KIND JSON\"\n", lineno);
			rc = 1;
			break;
		}
		*sp = '\0';
		int k = kind_of(line);
		json_error_t je;
		json_t *doc = k >= 0 ? json_loads(sp + 1, 0, &je) : NULL;
		if (!doc) {
			fprintf(stderr, "store-put: line %ld: %s\n", lineno,
			        k < 0 ? "unknown kind" : je.text);
			rc = 1;
			break;
		}
		if ((n % 1000 == 0 && store_begin(st, &e) < 0) ||
		    store_create(st, (enum store_kind)k, doc, NULL, &e) < 0 ||
		    (++n % 1000 == 0 && store_commit(st, &e) < 0)) {
			fprintf(stderr, "store-put: line %ld: %s\n", lineno, e.message);
			rc = 1;
		}
		json_decref(doc);
	}
	if (rc == 0 && n % 1000 && store_commit(st, &e) < 0) {
		fprintf(stderr, "store-put: %s\n", e.message);
		rc = 1;
	}
	if (rc)
		store_rollback(st);
	free(line);
	store_close(st);
	return rc;
}
