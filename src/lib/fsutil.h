/* fsutil.h - small file helpers: atomic writes, whole-file reads, trees. */
#ifndef VDC_FSUTIL_H
#define VDC_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes len bytes to path through a temporary file, fsync and rename, so a
 * reader (or a crash) sees the old content or the new, never a mix.
 * Returns 0, or -errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without fsync: readers still see old or new, never a mix, but a
 * power loss may lose the update. For files that can be re-derived. */
int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode);

/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd
 * buffer. Returns NULL with errno set on failure; *len_out gets the size. */
char *fs_read_all(const char *path, size_t max, size_t *len_out);

/* mkdir -p with mode for every created component. Returns 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

/* rm -rf of path; a missing path is success. Does not follow symlinks.
 * Returns 0 or -errno of the first failure. */
int fs_remove_tree(const char *path);

/* True when path exists (any type). */
int fs_exists(const char *path);

/* Free bytes for unprivileged users on the filesystem holding path, or -1. */
int64_t fs_free_bytes(const char *path);

/* Writes a short string to an existing file (sysfs, cgroupfs): open, write,
 * close. Returns 0 or -errno (the kernel's answer to the write). */
int fs_write_string(const char *path, const char *value);

/* Opens rel (a relative path) inside the directory root without leaving it:
 * openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
 * so no symlink (and no "..") anywhere on the way is followed, and nothing
 * outside root is reached. flags and mode as open(2). Returns the fd, or
 * -errno (-ELOOP/-EXDEV when a link or escape was refused). */
int fs_open_beneath(const char *root, const char *rel, int flags, mode_t mode);

#endif
