/* agent_tls.c - the agent's certificate files: STATE/tls/agent.key (0600),
 * agent.pem, ca.pem and manager-ca.pem, written once at the join and read
 * at every start. */
#include "agent.h"

#include "fsutil.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const files[] = {"agent.key", "agent.pem", "ca.pem", "manager-ca.pem"};

static void path_of(struct agent *a, const char *file, char *out, size_t n)
{
	snprintf(out, n, "%s/tls/%s", a->cfg.state_dir, file);
}

static char **slot(struct agent *a, int i)
{
	char **s[] = {&a->tls.key, &a->tls.cert, &a->tls.ca, &a->tls.manager_ca};
	return s[i];
}

void agent_tls_free(struct agent *a)
{
	tls_free_secret(a->tls.key);
	free(a->tls.cert);
	free(a->tls.ca);
	free(a->tls.manager_ca);
	memset(&a->tls, 0, sizeof(a->tls));
}

int agent_tls_load(struct agent *a)
{
	char path[1200], err[1400];
	path_of(a, "agent.pem", path, sizeof(path));
	if (!fs_exists(path))
		return 0;
	for (int i = 0; i < 4; i++) {
		path_of(a, files[i], path, sizeof(path));
		*slot(a, i) = tls_read_pem(path, err, sizeof(err));
		if (!*slot(a, i)) {
			log_error("tls_files_unusable", "error=%s hint=%s", log_quote(err),
			          log_quote("restore the file, or remove STATE/tls and STATE/manager.json and "
			                    "join again with a new token"));
			agent_tls_free(a);
			return -1;
		}
	}
	if (tls_key_matches(a->tls.cert, a->tls.key) != 1) {
		path_of(a, "agent.key", path, sizeof(path));
		log_error("tls_files_unusable", "path=%s error=%s", path,
		          log_quote("the key does not belong to agent.pem; join again with a new token"));
		agent_tls_free(a);
		return -1;
	}
	return 0;
}

int agent_tls_save(struct agent *a, char *key, char *cert, char *ca, char *manager_ca, char *err,
                   size_t errlen)
{
	char dir[1200], path[1200];
	snprintf(dir, sizeof(dir), "%s/tls", a->cfg.state_dir);
	agent_tls_free(a);
	a->tls = (struct agent_tls){.key = key, .cert = cert, .ca = ca, .manager_ca = manager_ca};
	int rc = fs_mkdir_p(dir, 0700);
	if (rc < 0) {
		snprintf(err, errlen, "cannot make %s: %s", dir, strerror(-rc));
		return -1;
	}
	/* The certificate last: its presence says the set is complete. */
	static const int order[] = {0, 2, 3, 1};
	for (int i = 0; i < 4; i++) {
		int k = order[i];
		path_of(a, files[k], path, sizeof(path));
		if (tls_write_pem(path, *slot(a, k), k == 0, err, errlen) < 0)
			return -1;
	}
	return 0;
}
