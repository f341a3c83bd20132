/* seed.c - NoCloud seed ISO built with genisoimage (Debian's ISO9660 maker).
 * meta-data values are written as JSON strings, which YAML reads verbatim. */
#include "seed.h"

#include "fsutil.h"
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *seed_meta_data(const struct vm_spec *spec)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	json_t *md = spec->meta_data;
	json_t *iid = json_object_get(md, "instance-id");
	json_t *host = json_object_get(md, "local-hostname");
	json_t *dflt_iid = json_string(spec->uuid), *dflt_host = json_string(spec->name);
	char *v1 = json_dumps(iid ? iid : dflt_iid, JSON_ENCODE_ANY);
	char *v2 = json_dumps(host ? host : dflt_host, JSON_ENCODE_ANY);
	fprintf(f, "instance-id: %s\nlocal-hostname: %s\n", v1, v2);
	free(v1);
	free(v2);
	json_decref(dflt_iid);
	json_decref(dflt_host);
	const char *k;
	json_t *v;
	json_object_foreach(md, k, v) {
		if (!strcmp(k, "instance-id") || !strcmp(k, "local-hostname"))
			continue;
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		fprintf(f, "%s: %s\n", k, s);
		free(s);
	}
	fclose(f);
	return buf;
}

static int put(const char *dir, const char *name, const char *content, struct errinfo *e)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int rc = fs_write_atomic(path, content, strlen(content), 0600);
	if (rc < 0)
		return errinfo_set(e, rc == -ENOSPC ? 507 : 500,
		                   rc == -ENOSPC ? "datastore_full" : "seed", "cloud_init",
		                   "cannot write %s: %s", path, strerror(-rc));
	return 0;
}

int seed_build(const char *workdir, const char *iso, const struct vm_spec *spec,
               struct errinfo *e)
{
	char cidata[4096], f_ud[4200], f_md[4200], f_nc[4200];
	snprintf(cidata, sizeof(cidata), "%s/cidata", workdir);
	if (fs_mkdir_p(cidata, 0700) < 0)
		return errinfo_set(e, 500, "seed", "cloud_init", "cannot create %s: %s", cidata,
		                   strerror(errno));
	char *md = seed_meta_data(spec);
	if (!md)
		return errinfo_set(e, 500, "seed", "cloud_init", "out of memory");
	int rc = put(cidata, "meta-data", md, e);
	free(md);
	if (rc < 0)
		return -1;
	if (put(cidata, "user-data", spec->user_data ? spec->user_data : "#cloud-config\n", e) < 0)
		return -1;
	if (spec->network_config && put(cidata, "network-config", spec->network_config, e) < 0)
		return -1;
	snprintf(f_ud, sizeof(f_ud), "%s/user-data", cidata);
	snprintf(f_md, sizeof(f_md), "%s/meta-data", cidata);
	snprintf(f_nc, sizeof(f_nc), "%s/network-config", cidata);
	const char *argv[] = {"genisoimage", "-quiet", "-output", iso, "-volid", "cidata",
	                      "-joliet", "-rock", f_ud, f_md,
	                      spec->network_config ? f_nc : NULL, NULL};
	char out[2048];
	rc = run_capture(argv, out, sizeof(out));
	if (rc != 0) {
		unlink(iso);
		if (rc < 0)
			return errinfo_set(e, 500, "seed", "cloud_init",
			                   "cannot run genisoimage: %s (install genisoimage)", strerror(-rc));
		run_trim(out);
		int full = strstr(out, "No space") != NULL;
		return errinfo_set(e, full ? 507 : 500, full ? "datastore_full" : "seed", "cloud_init",
		                   "building the cloud-init seed failed: %s", out);
	}
	return 0;
}
