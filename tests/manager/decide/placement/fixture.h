/* fixture.h - placement test cases as small text files: a fleet, a request
 * and the expected decision log (pve-ha-manager's input/log.expect idea,
 * one file per case). The grammar is in cases/README. */
#ifndef VDC_TEST_PLACEMENT_FIXTURE_H
#define VDC_TEST_PLACEMENT_FIXTURE_H

#include "placement.h"

#define FX_MAX_HOSTS 64
#define FX_MAX_CLUSTERS 8
#define FX_MAX_IDS 32
#define FX_MAX_RULES 16
#define FX_MAX_MEMBERS 16
#define FX_NAME 32

struct fixture {
	char about[256]; /* the first comment line: what the case shows */
	struct placement_cluster clusters[FX_MAX_CLUSTERS];
	char cluster_names[FX_MAX_CLUSTERS][FX_NAME];
	struct placement_host hosts[FX_MAX_HOSTS];
	char host_names[FX_MAX_HOSTS][FX_NAME];
	const char *ds_names[FX_MAX_IDS];
	const char *net_names[FX_MAX_IDS];
	char ds_store[FX_MAX_IDS][FX_NAME];
	char net_store[FX_MAX_IDS][FX_NAME];
	struct placement_rule rules[FX_MAX_RULES];
	char rule_names[FX_MAX_RULES][FX_NAME];
	struct placement_member members[FX_MAX_RULES][FX_MAX_MEMBERS];
	char member_names[FX_MAX_RULES][FX_MAX_MEMBERS][FX_NAME];
	struct placement_snapshot snap;
	struct placement_request req;
	char req_vm[FX_NAME];
	int req_rules[PLACEMENT_MAX_VM_RULES + 1];
	char *input;  /* the file up to and including the "expect" line */
	char *expect; /* what follows it */
};

/* Reads the case at path into f. Returns 0, or -1 with a message naming the
 * line in err. Free with fixture_free (also after a failure). */
int fixture_load(const char *path, struct fixture *f, char *err, size_t errlen);
void fixture_free(struct fixture *f);

/* Decides f's request and writes the log the "expect" section holds: per
 * host "NAME FILTER: sentence", then "summary: ...", or one "error ..." line.
 * Returns malloc'd text (NULL when out of memory). */
char *fixture_decide(const struct fixture *f);

#endif
