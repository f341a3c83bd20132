/* library.h - vdcd's image library: each image a document in the store
 * (kind "image": disk, kernel, initrd or iso; its format, size, SHA-256 and
 * state) and a file DATA/images/<id> that only vdcd writes. Templates name
 * images by id; a VM's host gets its own copy pushed from here before the
 * VM is made (task_ops.c), so no host path given by a user reaches an
 * agent. */
#ifndef VDC_MGR_LIBRARY_H
#define VDC_MGR_LIBRARY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "errinfo.h"
#include "store.h"

struct mgr;

/* DATA/images/<id>. */
void library_path(const struct mgr *m, const char *id, char *out, size_t n);
/* Makes DATA/images and its upload spool (emptied of what a crash left);
 * *spool gets the spool's path. 0, or -1 with errno. */
int library_prepare(struct mgr *m, char *spool, size_t n);

/* The active image that ref (a name or an id) names, if it is of kind and
 * a VM or template of project_id may use it (shared, or of that project).
 * A new reference, or NULL with e: 400 invalid_request naming field when
 * it is missing, another project's (reported as missing), of another kind
 * or not yet uploaded. */
json_t *library_resolve(struct store *st, const char *ref, const char *kind, const char *project_id,
                        const char *field, struct errinfo *e);

/* Judges an image file (fd, size bytes) of kind and format from its head
 * (image_inspect). 0 with *virtual_bytes, or -1 with a sentence in err. */
int library_inspect_fd(int fd, uint64_t size, const char *kind, const char *format,
                       uint64_t *virtual_bytes, char *err, size_t errlen);

/* What uses image id, in words, into used_by ("template 'x'" using it as
 * disk, kernel or initrd, or "VM 'y' in its CD-ROM drive; eject..."): 1 when
 * something does, 0 when nothing, -1 with e. */
int library_used_by(struct store *st, const char *id, char *used_by, size_t n, struct errinfo *e);

/* A relative path an import may name: no leading '/', no '..' or empty
 * component, printable. NULL when fine, else why not. */
const char *library_check_import_path(const char *rel);

/* Copies the file rel, found beneath import_dir without leaving it
 * (openat2 RESOLVE_BENEATH: no '..', no symlink or mount out of it, no
 * magic links), into the library as image id (kind, format), judging it
 * first; progress(ctx, percent) is called as it goes and stops the copy
 * by returning -1 with e set (a cancel). Fills size, virtual size and
 * sha256 (65 bytes). 0, or -1 with e (nothing left behind). */
int library_import(struct mgr *m, const char *import_dir, const char *rel, const char *id,
                   const char *kind, const char *format, uint64_t max_bytes,
                   int (*progress)(void *ctx, int percent), void *ctx, uint64_t *size,
                   uint64_t *virtual_bytes, char sha256[65], struct errinfo *e);

#endif
