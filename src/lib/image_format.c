/* image_format.c - judges an image from its first bytes (see image_format.h).
 * The qcow2 layout is QEMU's docs/interop/qcow2.txt: a big-endian header,
 * then header extensions, each type + length + data padded to 8 bytes. */
#include "image_format.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_V2_HEADER 72u
#define QCOW2_V3_HEADER 104u

/* Header extension types. */
#define EXT_END 0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_FEATURE_TABLE 0x6803f857u
#define EXT_BITMAPS 0x23852875u
#define EXT_ENCRYPTION 0x0537be77u
#define EXT_DATA_FILE 0x44415441u

/* Incompatible feature bits we can open safely: compression type (zstd)
 * and extended L2 entries. Dirty, corrupt and external data file are not. */
#define INCOMPAT_DIRTY (1ull << 0)
#define INCOMPAT_CORRUPT (1ull << 1)
#define INCOMPAT_DATA_FILE (1ull << 2)
#define INCOMPAT_KNOWN_SAFE ((1ull << 3) | (1ull << 4))

/* Past this a disk is not an image anyone meant to upload (64 TiB, the
 * largest disk a VM spec allows). */
#define MAX_VIRTUAL_BYTES (64ull << 40)

static const char *const kind_names[] = {"disk", "kernel", "initrd", "iso"};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *image_kind_name(enum image_kind k)
{
	return (unsigned)k < NKINDS ? kind_names[k] : "unknown";
}

int image_kind_parse(const char *s)
{
	for (int i = 0; s && i < (int)NKINDS; i++)
		if (!strcmp(s, kind_names[i]))
			return i;
	return -1;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* A printable copy of a name stored in the image (a backing or data file),
 * for the error message. */
static void quote_name(const unsigned char *head, size_t n, uint64_t off, uint32_t len, char *out,
                       size_t outlen)
{
	size_t o = 0;
	if (off < n) {
		for (uint64_t i = off; i < n && i < off + len && o + 1 < outlen; i++)
			out[o++] = head[i] >= 0x20 && head[i] < 0x7f ? (char)head[i] : '?';
	}
	out[o] = '\0';
	if (!o)
		snprintf(out, outlen, "(beyond the first %zu bytes)", n);
}

static int inspect_qcow2(const unsigned char *h, size_t n, uint64_t file_bytes, struct image_facts *f,
                         char *err, size_t errlen)
{
	char name[160];
	if (n < QCOW2_V2_HEADER)
		return FAIL("is too short for a qcow2 header (%zu bytes)", n);
	uint32_t version = be32(h + 4);
	if (version != 2 && version != 3)
		return FAIL("is qcow2 version %u; only versions 2 and 3 are supported (qemu-img amend -o compat=1.1)",
		            version);
	uint64_t backing_off = be64(h + 8);
	uint32_t backing_len = be32(h + 16);
	if (backing_off || backing_len) {
		quote_name(h, n, backing_off, backing_len > 1023 ? 1023 : backing_len, name, sizeof(name));
		return FAIL("has a backing file ('%s'); images must stand alone: "
		            "qemu-img convert -O qcow2 IMAGE STANDALONE.qcow2 makes one", name);
	}
	uint32_t cluster_bits = be32(h + 20);
	if (cluster_bits < 9 || cluster_bits > 21)
		return FAIL("has cluster_bits %u; qcow2 allows 9 to 21", cluster_bits);
	uint64_t size = be64(h + 24);
	if (size == 0 || size > MAX_VIRTUAL_BYTES)
		return FAIL("has a virtual size of %llu bytes; it must be between 1 byte and 64 TiB",
		            (unsigned long long)size);
	if (be32(h + 32) != 0)
		return FAIL("is encrypted (crypt_method %u); upload an unencrypted image", be32(h + 32));
	uint32_t hdr_len = QCOW2_V2_HEADER;
	if (version == 3) {
		if (n < QCOW2_V3_HEADER)
			return FAIL("is too short for a qcow2 v3 header (%zu bytes)", n);
		uint64_t incompat = be64(h + 72);
		if (incompat & INCOMPAT_DATA_FILE)
			return FAIL("%s", "keeps its data in an external data file; images must stand alone: "
			                  "qemu-img convert -O qcow2 IMAGE STANDALONE.qcow2 makes one");
		if (incompat & INCOMPAT_CORRUPT)
			return FAIL("%s", "is marked corrupt; repair it with qemu-img check -r all");
		if (incompat & INCOMPAT_DIRTY)
			return FAIL("%s", "was not closed cleanly (dirty); repair it with qemu-img check -r all");
		if (incompat & ~INCOMPAT_KNOWN_SAFE)
			return FAIL("uses incompatible qcow2 features 0x%llx that vdc does not accept",
			            (unsigned long long)(incompat & ~INCOMPAT_KNOWN_SAFE));
		hdr_len = be32(h + 100);
		if (hdr_len < QCOW2_V3_HEADER || hdr_len > n || hdr_len % 8)
			return FAIL("has a header length of %u bytes, which is not valid", hdr_len);
	}
	/* Header extensions: refuse the ones that name or encrypt other data. */
	uint64_t off = hdr_len;
	bool ended = false;
	while (off + 8 <= n) {
		uint32_t type = be32(h + off), len = be32(h + off + 4);
		if (type == EXT_END) {
			ended = true;
			break;
		}
		if (type == EXT_DATA_FILE) {
			quote_name(h, n, off + 8, len > 1023 ? 1023 : len, name, sizeof(name));
			return FAIL("names an external data file ('%s'); images must stand alone", name);
		}
		if (type == EXT_ENCRYPTION)
			return FAIL("%s", "carries an encryption header; upload an unencrypted image");
		if (type == EXT_BACKING_FORMAT)
			return FAIL("%s", "names a backing format; images must stand alone");
		off += 8 + (((uint64_t)len + 7) & ~7ull);
	}
	if (!ended)
		return FAIL("has header extensions that do not end within its first %zu bytes", n);
	if (file_bytes < (1ull << cluster_bits))
		return FAIL("is %llu bytes, smaller than one of its own clusters", (unsigned long long)file_bytes);
	f->virtual_bytes = size;
	f->cluster_bytes = 1u << cluster_bits;
	f->qcow2_version = (int)version;
	return 0;
}

/* A vmdk text descriptor as QEMU's vmdk_probe sees one: after '#' comment
 * lines and blank lines, a line "version=1", "=2" or "=3". Such a file can
 * name any host file as its extent, so no raw image may look like one. */
static bool vmdk_descriptor(const unsigned char *h, size_t n)
{
	size_t p = 0;
	while (p < n) {
		if (h[p] == '#') {
			while (p < n && h[p] != '\n')
				p++;
			p++;
			continue;
		}
		if (h[p] == ' ') {
			while (p < n && h[p] == ' ')
				p++;
			if (p < n && h[p] == '\r')
				p++;
			if (p == n || h[p] != '\n')
				return false;
			p++;
			continue;
		}
		return n - p >= 10 && !memcmp(h + p, "version=", 8) && h[p + 8] >= '1' && h[p + 8] <= '3' &&
		       (h[p + 9] == '\n' || (n - p >= 11 && h[p + 9] == '\r' && h[p + 10] == '\n'));
	}
	return false;
}

/* Formats a raw image must not be: declared raw, such a file would still
 * be read as raw (vdc always names the format), but it is almost surely a
 * mistake, and refusing it keeps any later prober from being fooled. */
static const char *foreign_format(const unsigned char *h, size_t n)
{
	static const struct { size_t off; const char *magic; size_t len; const char *name; } sigs[] = {
		{0, "QFI\xfb", 4, "qcow2"},
		{0, "KDMV", 4, "vmdk"},
		{0, "COWD", 4, "vmdk"},
		{0, "# Disk DescriptorFile", 21, "vmdk (descriptor)"},
		{0, "vhdxfile", 8, "vhdx"},
		{0, "conectix", 8, "vpc (vhd)"},
		{0, "QED\0", 4, "qed"},
		{0, "LUKS\xba\xbe", 6, "luks"},
		{0, "WithoutFreeSpace", 16, "parallels"},
		{0, "WithouFreSpacExt", 16, "parallels"},
		{0, "Bochs Virtual HD Image", 22, "bochs"},
		{0, "#!/bin/sh\n#V2.0 Format", 22, "cloop"},
		{0x40, "\x7f\x10\xda\xbe", 4, "vdi"},
	};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (n >= sigs[i].off + sigs[i].len && !memcmp(h + sigs[i].off, sigs[i].magic, sigs[i].len))
			return sigs[i].name;
	return vmdk_descriptor(h, n) ? "vmdk (descriptor)" : NULL;
}

static int inspect_kernel(const unsigned char *h, size_t n, char *err, size_t errlen)
{
	/* x86 boot protocol: 0xAA55 at 0x1fe, "HdrS" at 0x202. */
	if (n < 0x206 || h[0x1fe] != 0x55 || h[0x1ff] != 0xaa || memcmp(h + 0x202, "HdrS", 4))
		return FAIL("%s", "is not an x86 Linux kernel (no bzImage boot header); upload the vmlinuz file");
	return 0;
}

static int inspect_initrd(const unsigned char *h, size_t n, char *err, size_t errlen)
{
	static const struct { const char *magic; size_t len; } sigs[] = {
		{"070701", 6}, {"070702", 6}, {"070707", 6},  /* cpio */
		{"\x1f\x8b", 2},                              /* gzip */
		{"\xfd" "7zXZ\0", 6},                         /* xz */
		{"\x28\xb5\x2f\xfd", 4},                      /* zstd */
		{"BZh", 3},                                   /* bzip2 */
		{"\x02\x21\x4c\x18", 4}, {"\x04\x22\x4d\x18", 4}, /* lz4 legacy, frame */
		{"\x89LZO", 4},                               /* lzop */
		{"\x5d\x00\x00", 3},                          /* lzma */
	};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (n >= sigs[i].len && !memcmp(h, sigs[i].magic, sigs[i].len))
			return 0;
	return FAIL("%s", "is not an initramfs (neither cpio nor a compressed archive); upload the initrd file");
}

/* ISO 9660 (ECMA-119): 16 sectors of 2048 bytes of system area, then the
 * volume descriptors, each a type byte and "CD001"; the set ends with a
 * terminator (type 255). A CD-ROM medium is read by the guest as raw
 * sectors, so the primary volume descriptor at 0x8000 is what makes it one. */
static int inspect_iso(const unsigned char *h, size_t n, uint64_t file_bytes, char *err, size_t errlen)
{
	if (n < 0x8006 || memcmp(h + 0x8001, "CD001", 5))
		return FAIL("%s", "is not an ISO 9660 image (no \"CD001\" at byte 0x8001); upload a .iso file "
		                  "(xorriso or genisoimage make one)");
	if (h[0x8000] != 1)
		return FAIL("is not an ISO 9660 image: its first volume descriptor is of type %u, not 1 (primary)",
		            h[0x8000]);
	if (file_bytes % 2048)
		return FAIL("is %llu bytes; an ISO 9660 image is a whole number of 2048-byte sectors",
		            (unsigned long long)file_bytes);
	return 0;
}

int image_inspect(const unsigned char *head, size_t n, uint64_t file_bytes, enum image_kind kind,
                  const char *format, struct image_facts *facts, char *err, size_t errlen)
{
	memset(facts, 0, sizeof(*facts));
	facts->virtual_bytes = file_bytes;
	if (n > file_bytes)
		n = (size_t)file_bytes;
	if (file_bytes == 0)
		return FAIL("%s", "is empty");
	if (kind == IMAGE_ISO) {
		if (format && strcmp(format, "raw"))
			return FAIL("is an ISO; its format is raw, not '%s'", format);
		return inspect_iso(head, n, file_bytes, err, errlen);
	}
	if (kind == IMAGE_KERNEL || kind == IMAGE_INITRD) {
		if (format && strcmp(format, "raw"))
			return FAIL("is a %s; its format is raw, not '%s'", image_kind_name(kind), format);
		return kind == IMAGE_KERNEL ? inspect_kernel(head, n, err, errlen)
		                            : inspect_initrd(head, n, err, errlen);
	}
	if (kind != IMAGE_DISK)
		return FAIL("%s", "is of an unknown kind");
	if (format && !strcmp(format, "qcow2")) {
		if (n < 4 || be32(head) != QCOW2_MAGIC)
			return FAIL("%s", "is not a qcow2 image (no QFI\\xfb magic); declare its real format");
		return inspect_qcow2(head, n, file_bytes, facts, err, errlen);
	}
	if (format && !strcmp(format, "raw")) {
		const char *other = foreign_format(head, n);
		if (other)
			return FAIL("was declared raw but is a %s image; declare format %s", other,
			            !strcmp(other, "qcow2") ? "qcow2" : "qcow2 after converting it (qemu-img convert -O qcow2)");
		if (file_bytes % 512)
			return FAIL("is %llu bytes; a raw disk is a whole number of 512-byte sectors",
			            (unsigned long long)file_bytes);
		return 0;
	}
	return FAIL("has format '%s'%s; a disk image is 'qcow2' or 'raw'", format ? format : "",
	            format ? "" : " (none given)");
}
