/* images.h - this host's copies of vdc's images (disks, kernels, initrds,
 * ISOs),
 * kept on its datastores as <datastore>/images/<id> with a sidecar
 * <id>.json of what was verified. VM specs name images by id only; the
 * agent turns an id into a path here, so no host path given by a caller
 * ever reaches QEMU or qemu-img. Files are root's, read-only to everyone
 * (every VM identity reads its backing image; none may write it). */
#ifndef VDC_AGENT_IMAGES_H
#define VDC_AGENT_IMAGES_H

#include <jansson.h>
#include <stdint.h>

#include "errinfo.h"

struct agent;

/* The largest image the agent accepts in one upload (vdcd enforces its own,
 * usually smaller, limit on users' uploads). */
#define IMAGES_MAX_BYTES (1ull << 40)

struct image_meta {
	char id[64];
	char kind[8];      /* disk, kernel, initrd, iso */
	char format[8];    /* qcow2, raw */
	char sha256[65];
	char datastore[64];
	uint64_t size_bytes;
	uint64_t virtual_bytes;
};

/* Finds image id on any datastore of this host: its file's path and what
 * was recorded of it. want_kind (NULL: any) must match. 0, or -1 with e:
 * 400 invalid_spec naming field when the id is malformed, absent (say to
 * upload it) or of another kind. */
int images_find(struct agent *a, const char *id, const char *want_kind, const char *field, char *path,
                size_t pathlen, struct image_meta *meta, struct errinfo *e);

/* Takes an uploaded file (spool_path, size, sha256 as computed while it
 * arrived) as image id of kind and format on datastore: checks the id, the
 * expected sha256 (when given), and the image itself (image_inspect), then
 * moves it into place read-only with its sidecar. Idempotent: the same
 * image again is 0 with *existed set. -1 with e otherwise (nothing kept). */
int images_add(struct agent *a, const char *id, const char *datastore, const char *kind,
               const char *format, const char *expect_sha256, const char *spool_path,
               uint64_t size, const char *sha256, int *existed, struct errinfo *e);

/* Every image on this host, as an array of their sidecars. */
json_t *images_list(struct agent *a);
json_t *images_meta_json(const struct image_meta *m);

/* Removes image id, refused (409 in_use) while a VM of this host uses it. */
int images_remove(struct agent *a, const char *id, struct errinfo *e);

/* Where uploads are spooled: the first datastore's images/.spool. Made at
 * start (and emptied of what a crash left). Returns 0 or -1 with errno. */
int images_prepare(struct agent *a, char *spool, size_t n);

#endif
