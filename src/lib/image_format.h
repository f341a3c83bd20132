/* image_format.h - what an image file claims to be, judged from its first
 * bytes alone, before any tool opens it. Pure: no I/O. The checks are the
 * ones that keep a tenant's upload from reaching host files through QEMU:
 * a qcow2 with a backing file, an external data file or encryption is
 * refused, a "raw" image that is really another format is refused, and a
 * kernel, initrd or ISO must look like one. vdcd runs it on every upload and
 * import, the agent again on every image it receives. */
#ifndef VDC_IMAGE_FORMAT_H
#define VDC_IMAGE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* How many leading bytes image_inspect wants (fewer is fine for a shorter
 * file): the qcow2 header, its extensions and a backing file name fit. */
#define IMAGE_HEAD_BYTES 65536

enum image_kind {
	IMAGE_DISK,   /* a VM disk: qcow2 or raw */
	IMAGE_KERNEL, /* an x86 Linux kernel (bzImage) for direct boot */
	IMAGE_INITRD, /* an initramfs: cpio, possibly compressed */
	IMAGE_ISO,    /* a CD-ROM medium: an ISO 9660 file system, raw */
};

struct image_facts {
	uint64_t virtual_bytes; /* the disk as the guest sees it (disks); the file size otherwise */
	uint32_t cluster_bytes; /* qcow2 only */
	int qcow2_version;      /* 2 or 3; 0 for raw */
};

/* "disk", "kernel", "initrd", "iso" <-> kind; image_kind_parse returns -1 for
 * anything else. */
const char *image_kind_name(enum image_kind k);
int image_kind_parse(const char *s);

/* Judges an image of the given kind and declared format ("qcow2" or "raw"
 * for disks; NULL or "raw" for kernels, initrds and ISOs) from head (its first n
 * bytes, n = min(file size, IMAGE_HEAD_BYTES)) and its file size. Returns 0
 * and fills facts, or -1 with a sentence in err saying what is wrong and
 * what to do ("has a backing file ('/etc/shadow'); upload a standalone
 * image: qemu-img convert -O qcow2 ..."). */
int image_inspect(const unsigned char *head, size_t n, uint64_t file_bytes, enum image_kind kind,
                  const char *format, struct image_facts *facts, char *err, size_t errlen);

#endif
