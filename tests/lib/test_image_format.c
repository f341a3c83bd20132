/* test_image_format.c - the image inspector as a table: each case builds a
 * file head the way QEMU lays it out, and names the verdict it must get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "image_format.h"

static unsigned char head[IMAGE_HEAD_BYTES];

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* A clean qcow2 v3 header of 1 GiB, 64 KiB clusters, no extensions. */
static void qcow2_v3(void)
{
	memset(head, 0, sizeof(head));
	put32(head, 0x514649fb);
	put32(head + 4, 3);
	put32(head + 20, 16);
	put64(head + 24, 1ull << 30);
	put32(head + 96, 4);
	put32(head + 100, 104);
}

/* Adds a header extension at *off. */
static void ext(size_t *off, uint32_t type, const char *data)
{
	uint32_t len = (uint32_t)strlen(data);
	put32(head + *off, type);
	put32(head + *off + 4, len);
	memcpy(head + *off + 8, data, len);
	*off += 8 + ((len + 7u) & ~7u);
}

enum mutation {
	M_NONE,
	M_BACKING,
	M_DATA_FILE_BIT,
	M_DATA_FILE_EXT,
	M_BACKING_FORMAT_EXT,
	M_ENCRYPTED,
	M_ENCRYPTION_EXT,
	M_DIRTY,
	M_CORRUPT,
	M_ZSTD,
	M_UNKNOWN_INCOMPAT,
	M_V2,
	M_V1,
	M_HUGE,
	M_ZERO_SIZE,
	M_BAD_CLUSTER,
	M_BAD_HDR_LEN,
	M_FEATURE_TABLE,
	M_EXT_RUNS_OFF,
};

static void mutate(enum mutation m)
{
	qcow2_v3();
	size_t off = 104;
	switch (m) {
	case M_NONE: break;
	case M_BACKING:
		put64(head + 8, 512);
		put32(head + 16, 11);
		memcpy(head + 512, "/etc/shadow", 11);
		break;
	case M_DATA_FILE_BIT: put64(head + 72, 1ull << 2); break;
	case M_DATA_FILE_EXT: ext(&off, 0x44415441, "/var/lib/vdcd/admin.token"); break;
	case M_BACKING_FORMAT_EXT: ext(&off, 0xe2792aca, "raw"); break;
	case M_ENCRYPTED: put32(head + 32, 2); break;
	case M_ENCRYPTION_EXT: ext(&off, 0x0537be77, "0123456789abcdef"); break;
	case M_DIRTY: put64(head + 72, 1); break;
	case M_CORRUPT: put64(head + 72, 2); break;
	case M_ZSTD: put64(head + 72, 1ull << 3); break;
	case M_UNKNOWN_INCOMPAT: put64(head + 72, 1ull << 9); break;
	case M_V2: put32(head + 4, 2); break;
	case M_V1: put32(head + 4, 1); break;
	case M_HUGE: put64(head + 24, 1ull << 50); break;
	case M_ZERO_SIZE: put64(head + 24, 0); break;
	case M_BAD_CLUSTER: put32(head + 20, 30); break;
	case M_BAD_HDR_LEN: put32(head + 100, 101); break;
	case M_FEATURE_TABLE: ext(&off, 0x6803f857, "dirty bit........"); break;
	case M_EXT_RUNS_OFF:
		for (size_t o = 104; o + 8 <= 4096; o += 8) {
			put32(head + o, 0x12345678);
			put32(head + o + 4, 0);
		}
		break;
	}
}

struct qcase {
	const char *name;
	enum mutation m;
	size_t n;           /* bytes of head given */
	uint64_t file_bytes;
	const char *format;
	int rc;
	const char *err_has; /* a phrase the error must contain */
};

static const struct qcase qcases[] = {
	{"a clean qcow2 v3", M_NONE, 4096, 1 << 20, "qcow2", 0, NULL},
	{"qcow2 v2", M_V2, 4096, 1 << 20, "qcow2", 0, NULL},
	{"zstd compression is fine", M_ZSTD, 4096, 1 << 20, "qcow2", 0, NULL},
	{"a feature table extension is fine", M_FEATURE_TABLE, 4096, 1 << 20, "qcow2", 0, NULL},
	{"a backing file (the clone attack)", M_BACKING, 4096, 1 << 20, "qcow2", -1, "backing file ('/etc/shadow')"},
	{"an external data file bit", M_DATA_FILE_BIT, 4096, 1 << 20, "qcow2", -1, "external data file"},
	{"an external data file name", M_DATA_FILE_EXT, 4096, 1 << 20, "qcow2", -1, "/var/lib/vdcd/admin.token"},
	{"a backing format extension", M_BACKING_FORMAT_EXT, 4096, 1 << 20, "qcow2", -1, "backing format"},
	{"encryption", M_ENCRYPTED, 4096, 1 << 20, "qcow2", -1, "encrypted"},
	{"an encryption header", M_ENCRYPTION_EXT, 4096, 1 << 20, "qcow2", -1, "encryption header"},
	{"dirty", M_DIRTY, 4096, 1 << 20, "qcow2", -1, "qemu-img check -r all"},
	{"corrupt", M_CORRUPT, 4096, 1 << 20, "qcow2", -1, "corrupt"},
	{"an unknown incompatible feature", M_UNKNOWN_INCOMPAT, 4096, 1 << 20, "qcow2", -1, "0x200"},
	{"version 1", M_V1, 4096, 1 << 20, "qcow2", -1, "version 1"},
	{"a 1 PiB disk", M_HUGE, 4096, 1 << 20, "qcow2", -1, "64 TiB"},
	{"a zero-size disk", M_ZERO_SIZE, 4096, 1 << 20, "qcow2", -1, "virtual size of 0"},
	{"cluster_bits 30", M_BAD_CLUSTER, 4096, 1 << 20, "qcow2", -1, "cluster_bits 30"},
	{"a header length not a multiple of 8", M_BAD_HDR_LEN, 4096, 1 << 20, "qcow2", -1, "header length"},
	{"extensions that never end", M_EXT_RUNS_OFF, 4096, 1 << 20, "qcow2", -1, "do not end"},
	{"a truncated header", M_NONE, 50, 50, "qcow2", -1, "too short"},
	{"a file smaller than a cluster", M_NONE, 4096, 4096, "qcow2", -1, "smaller than one of its own clusters"},
	{"qcow2 declared raw", M_NONE, 4096, 1 << 20, "raw", -1, "declared raw but is a qcow2"},
	{"an unknown format", M_NONE, 4096, 1 << 20, "vmdk", -1, "'qcow2' or 'raw'"},
	{"no format", M_NONE, 4096, 1 << 20, NULL, -1, "none given"},
};

static void test_qcow2_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
		const struct qcase *c = &qcases[i];
		mutate(c->m);
		struct image_facts f;
		char err[512] = "";
		int rc = image_inspect(head, c->n, c->file_bytes, IMAGE_DISK, c->format, &f, err, sizeof(err));
		if (rc != c->rc || (c->err_has && !strstr(err, c->err_has)))
			fail_msg("case '%s': rc %d (want %d), error '%s' (want it to contain '%s')", c->name, rc,
			         c->rc, err, c->err_has ? c->err_has : "");
		if (rc == 0 && c->m == M_NONE)
			assert_int_equal(f.virtual_bytes, 1ull << 30);
	}
}

static void test_raw(void **state)
{
	(void)state;
	struct image_facts f;
	char err[256];
	memset(head, 0, sizeof(head));
	assert_int_equal(image_inspect(head, 4096, 1 << 20, IMAGE_DISK, "raw", &f, err, sizeof(err)), 0);
	assert_int_equal(f.virtual_bytes, 1 << 20);
	assert_int_equal(image_inspect(head, 4096, 1000, IMAGE_DISK, "raw", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "512-byte sectors"));
	assert_int_equal(image_inspect(head, 0, 0, IMAGE_DISK, "raw", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	static const struct { const char *magic; size_t off; const char *name; } foreign[] = {
		{"KDMV", 0, "vmdk"}, {"# Disk DescriptorFile", 0, "vmdk (descriptor)"}, {"vhdxfile", 0, "vhdx"},
		{"conectix", 0, "vpc"}, {"LUKS\xba\xbe", 0, "luks"}, {"\x7f\x10\xda\xbe", 0x40, "vdi"},
		{"COWD", 0, "vmdk"},
		/* vmdk text descriptors as QEMU probes them: they name extents,
		 * any host file, so a raw image must never look like one */
		{"version=1\nRW 8 FLAT \"/etc/shadow\" 0\n", 0, "vmdk (descriptor)"},
		{"# comment\n   \nversion=3\r\n", 0, "vmdk (descriptor)"},
		{"# comment\n\nversion=3\n", 0, NULL}, /* QEMU stops at an empty line */
		{"#\n version=2\n", 0, NULL}, /* a line of spaces must be blank */
		{"version=4\n", 0, NULL},
		{"xversion=1\n", 0, NULL},
	};
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		memset(head, 0, sizeof(head));
		memcpy(head + foreign[i].off, foreign[i].magic, strlen(foreign[i].magic));
		int rc = image_inspect(head, 4096, 1 << 20, IMAGE_DISK, "raw", &f, err, sizeof(err));
		if (!foreign[i].name) { /* what QEMU would not probe as another format */
			if (rc != 0)
				fail_msg("raw '%s' refused: '%s'", foreign[i].magic, err);
			continue;
		}
		assert_int_equal(rc, -1);
		if (!strstr(err, foreign[i].name))
			fail_msg("raw that is %s: '%s'", foreign[i].name, err);
	}
}

static void test_kernel_initrd(void **state)
{
	(void)state;
	struct image_facts f;
	char err[256];
	memset(head, 0, sizeof(head));
	assert_int_equal(image_inspect(head, 4096, 4096, IMAGE_KERNEL, NULL, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an x86 Linux kernel"));
	head[0x1fe] = 0x55;
	head[0x1ff] = 0xaa;
	memcpy(head + 0x202, "HdrS", 4);
	assert_int_equal(image_inspect(head, 4096, 4096, IMAGE_KERNEL, "raw", &f, err, sizeof(err)), 0);
	assert_int_equal(image_inspect(head, 4096, 4096, IMAGE_KERNEL, "qcow2", &f, err, sizeof(err)), -1);
	static const char *const initrds[] = {"070701", "\x1f\x8b\x08", "\x28\xb5\x2f\xfd", "\xfd" "7zXZ"};
	for (size_t i = 0; i < 4; i++) {
		memset(head, 0, sizeof(head));
		memcpy(head, initrds[i], strlen(initrds[i]) + 1);
		assert_int_equal(image_inspect(head, 4096, 4096, IMAGE_INITRD, NULL, &f, err, sizeof(err)), 0);
	}
	memset(head, 0, sizeof(head));
	memcpy(head, "root:x:0:0", 10);
	assert_int_equal(image_inspect(head, 4096, 4096, IMAGE_INITRD, NULL, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an initramfs"));
	assert_int_equal(image_kind_parse("kernel"), IMAGE_KERNEL);
	assert_int_equal(image_kind_parse("disks"), -1);
	assert_int_equal(image_kind_parse(NULL), -1);
}

/* An ISO: "CD001" in a primary volume descriptor at 0x8000, whole 2048-byte
 * sectors, format raw; anything else is refused with what is wrong. */
static void test_iso(void **state)
{
	(void)state;
	struct image_facts f;
	char err[512];
	memset(head, 0, sizeof(head));
	head[0x8000] = 1;
	memcpy(head + 0x8001, "CD001", 5);
	assert_int_equal(image_inspect(head, sizeof(head), 1 << 20, IMAGE_ISO, NULL, &f, err, sizeof(err)), 0);
	assert_int_equal(f.virtual_bytes, 1 << 20);
	assert_int_equal(image_inspect(head, sizeof(head), 1 << 20, IMAGE_ISO, "raw", &f, err, sizeof(err)), 0);
	assert_int_equal(image_inspect(head, sizeof(head), 1 << 20, IMAGE_ISO, "qcow2", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "raw, not 'qcow2'"));
	assert_int_equal(image_inspect(head, sizeof(head), (1 << 20) + 512, IMAGE_ISO, NULL, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2048-byte sectors"));
	assert_int_equal(image_inspect(head, 0x8003, 0x8003, IMAGE_ISO, NULL, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CD001"));
	head[0x8000] = 2;
	assert_int_equal(image_inspect(head, sizeof(head), 1 << 20, IMAGE_ISO, NULL, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "type 2"));
	head[0x8000] = 1;
	head[0x8003] = 'X';
	assert_int_equal(image_inspect(head, sizeof(head), 1 << 20, IMAGE_ISO, NULL, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an ISO 9660 image"));
	/* A qcow2 declared an ISO is refused too (it has no CD001). */
	qcow2_v3();
	assert_int_equal(image_inspect(head, sizeof(head), 1 << 20, IMAGE_ISO, NULL, &f, err, sizeof(err)), -1);
	assert_int_equal(image_kind_parse("iso"), IMAGE_ISO);
	assert_string_equal(image_kind_name(IMAGE_ISO), "iso");
	assert_int_equal(image_kind_parse("cdrom"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_table),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_kernel_initrd),
		cmocka_unit_test(test_iso),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
