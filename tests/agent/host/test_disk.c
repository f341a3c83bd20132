/* test_disk.c - the backing-chain check against real qemu-img images in a
 * temporary directory: a file outside the roots (named directly, through a
 * relative name or through a symlink), a protocol, an external data file, an
 * unknown format and a chain too deep are each refused naming the file; a
 * chain inside the roots passes. The passing cases need root (shared images
 * must be root's) and are skipped otherwise. */
#include "testutil.h"

#include "disk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64], root[128];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("setup failed: %s", cmd);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/vdc-test-disk-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(root, sizeof(root), "%s/root", base);
	sh("mkdir %s && cd %s && qemu-img create -q -f raw outside.raw 1M && "
	   "qemu-img create -q -f raw root/base.raw 1M && chmod 644 outside.raw root/base.raw",
	   root, base);
	return 0;
}

static int teardown(void **state)
{
	sh("rm -rf %s", base);
	return 0;
}

/* Checks root/NAME (a qcow2 made by the shell command make) and returns
 * the error message, or "" when it passed. */
static const char *check(const char *name, const char *format, bool shared, uint64_t *vbytes)
{
	static struct errinfo e;
	memset(&e, 0, sizeof(e));
	const char *roots[] = {root};
	struct disk_access da = {.as = NULL, .roots = roots, .nroots = 1};
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (disk_check_chain(&da, path, format, shared, vbytes, "disks[0]", &e) == 0)
		return "";
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "disks[0]");
	return e.message;
}

static void expect_refused(const char *name, const char *fmt, const char *needle)
{
	const char *msg = check(name, fmt, false, NULL);
	if (!strstr(msg, needle))
		fail_msg("%s: want a refusal naming '%s', got '%s'", name, needle, msg);
}

static void test_outside_roots(void **state)
{
	sh("cd %s && qemu-img create -q -f qcow2 -b %s/outside.raw -F raw top-abs.qcow2 1M", root, base);
	expect_refused("top-abs.qcow2", "qcow2", "outside.raw' lies outside");
	sh("cd %s && qemu-img create -q -f qcow2 -b ../outside.raw -F raw top-rel.qcow2 1M", root);
	expect_refused("top-rel.qcow2", "qcow2", "'../outside.raw' lies outside");
	sh("cd %s && ln -s ../outside.raw link.raw && "
	   "qemu-img create -q -f qcow2 -b link.raw -F raw top-link.qcow2 1M", root);
	expect_refused("top-link.qcow2", "qcow2", "'link.raw' lies outside");
	sh("cd %s && qemu-img create -q -f qcow2 -u -b /etc/shadow -F raw top-shadow.qcow2 1M", root);
	expect_refused("top-shadow.qcow2", "qcow2", "'/etc/shadow' lies outside");
	/* The image itself, reached through a symlink out of the root. */
	sh("cd %s && ln -s ../outside.raw self.raw", root);
	expect_refused("self.raw", "raw", "lies outside");
}

static void test_protocols_and_data_files(void **state)
{
	sh("cd %s && qemu-img create -q -f qcow2 -u -F raw "
	   "-b 'json:{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}}' "
	   "top-json.qcow2 1M", root);
	expect_refused("top-json.qcow2", "qcow2", "'json:{");
	expect_refused("top-json.qcow2", "qcow2", "not a plain file");
	sh("cd %s && qemu-img create -q -f qcow2 -u -F raw -b nbd://127.0.0.1:1/x top-nbd.qcow2 1M", root);
	expect_refused("top-nbd.qcow2", "qcow2", "'nbd://127.0.0.1:1/x'");
	sh("cd %s && qemu-img create -q -f qcow2 -o data_file=%s/root/data.raw top-data.qcow2 1M", root,
	   base);
	expect_refused("top-data.qcow2", "qcow2", "external file");
	expect_refused("base.raw", "vmdk", "only qcow2 and raw");
	/* Named qcow2 but is raw: qemu-img itself refuses it. */
	assert_true(*check("base.raw", "qcow2", false, NULL));
}

static void test_chain_inside_roots(void **state)
{
	if (geteuid() != 0)
		skip();
	sh("cd %s && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 && "
	   "qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 4M", root);
	uint64_t vbytes = 0;
	assert_string_equal(check("top.qcow2", "qcow2", false, &vbytes), "");
	assert_int_equal(vbytes, 4u << 20);
	/* The same backing file, writable by others, is no shared image. */
	sh("chmod 666 %s/mid.qcow2", root);
	expect_refused("top.qcow2", "qcow2", "writable by others");
	sh("chmod 600 %s/mid.qcow2", root);
	expect_refused("top.qcow2", "qcow2", "the VMs cannot read");
	sh("chmod 644 %s/mid.qcow2", root);
	char fmt[16];
	struct errinfo e = {0};
	const char *roots[] = {root};
	struct disk_access da = {.as = NULL, .roots = roots, .nroots = 1};
	char path[256];
	snprintf(path, sizeof(path), "%s/mid.qcow2", root);
	assert_int_equal(disk_shared_format(&da, path, fmt, sizeof(fmt), "t", &e), 0);
	assert_string_equal(fmt, "qcow2");
	snprintf(path, sizeof(path), "%s/base.raw", root);
	assert_int_equal(disk_shared_format(&da, path, fmt, sizeof(fmt), "t", &e), 0);
	assert_string_equal(fmt, "raw");
	/* A chain longer than DISK_MAX_CHAIN is refused. */
	sh("cd %s && qemu-img create -q -f qcow2 c0.qcow2 1M && for i in $(seq 1 %d); do "
	   "qemu-img create -q -f qcow2 -b c$((i-1)).qcow2 -F qcow2 c$i.qcow2; done",
	   root, DISK_MAX_CHAIN);
	char top[32];
	snprintf(top, sizeof(top), "c%d.qcow2", DISK_MAX_CHAIN);
	expect_refused(top, "qcow2", "deeper than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outside_roots),
		cmocka_unit_test(test_protocols_and_data_files),
		cmocka_unit_test(test_chain_inside_roots),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
