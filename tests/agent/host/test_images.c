/* test_images.c - the agent's image store on real directories: an upload is
 * kept only when its id, kind, checksum and bytes are right, and then
 * read-only with its record; a refusal leaves no file; ids find their
 * files by kind; an image in use stays; a datastore on another filesystem
 * (/dev/shm here) gets a whole copy. */
#include "testutil.h"

#include "agent.h"
#include "images.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct fixture {
	char *tmp, *shm;          /* shm: a datastore on another filesystem, or NULL */
	struct agent a;
	char spool[1200], images[1200];
	int nspooled;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->tmp = tu_tmpdir();
	struct datastore *ds = &f->a.cfg.datastores[0];
	snprintf(ds->name, sizeof(ds->name), "local");
	snprintf(ds->path, sizeof(ds->path), "%s/ds", f->tmp);
	f->a.cfg.ndatastores = 1;
	char shm[] = "/dev/shm/vdc-unit-XXXXXX";
	struct stat s1, s2;
	if (mkdtemp(shm) && stat(shm, &s1) == 0 && stat(f->tmp, &s2) == 0 && s1.st_dev != s2.st_dev) {
		f->shm = strdup(shm);
		ds = &f->a.cfg.datastores[f->a.cfg.ndatastores++];
		snprintf(ds->name, sizeof(ds->name), "shm");
		snprintf(ds->path, sizeof(ds->path), "%s", shm);
	} else {
		rmdir(shm);
	}
	assert_int_equal(images_prepare(&f->a, f->spool, sizeof(f->spool)), 0);
	snprintf(f->images, sizeof(f->images), "%s/ds/images", f->tmp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'%s%s%s", f->tmp, f->shm ? " '" : "", f->shm ? f->shm : "",
	         f->shm ? "'" : "");
	assert_int_equal(system(cmd), 0);
	free(f->tmp);
	free(f->shm);
	free(f);
	return 0;
}

/* A spooled upload of n bytes: zeros, with what the kind needs at its head. */
static const char *spooled(struct fixture *f, const char *kind, size_t n)
{
	static char path[1300];
	snprintf(path, sizeof(path), "%s/.upload-%d", f->spool, f->nspooled++);
	char *data = calloc(1, n);
	assert_non_null(data);
	if (!strcmp(kind, "kernel") && n > 0x206) {
		data[0x1fe] = 0x55;
		data[0x1ff] = (char)0xaa;
		memcpy(data + 0x202, "HdrS", 4);
	} else if (!strcmp(kind, "initrd")) {
		memcpy(data, "070701", 6);
	}
	tu_write_file(path, data, n);
	free(data);
	return path;
}

/* The names in dir, sorted and joined with spaces ("" if none). */
static void listing(const char *dir, char *out, size_t n)
{
	struct dirent **ents;
	int k = scandir(dir, &ents, NULL, alphasort);
	out[0] = '\0';
	for (int i = 0; i < k; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
			snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? " " : "", ents[i]->d_name);
		free(ents[i]);
	}
	if (k >= 0)
		free(ents);
}

static int add(struct fixture *f, const char *id, const char *ds, const char *kind, const char *format,
               const char *expect, const char *spool, size_t n, const char *sha, int *existed,
               struct errinfo *e)
{
	memset(e, 0, sizeof(*e));
	return images_add(&f->a, id, ds, kind, format, expect, spool, n, sha, existed, e);
}

static void test_prepare(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	/* Every VM identity reaches its images; the spool is the agent's. */
	assert_int_equal(stat(f->images, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	assert_int_equal(stat(f->spool, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* What a crash left in the spool is gone at the next start. */
	spooled(f, "disk", 512);
	char spool[1200];
	assert_int_equal(images_prepare(&f->a, spool, sizeof(spool)), 0);
	char names[256];
	listing(f->spool, names, sizeof(names));
	assert_string_equal(names, "");
}

static void test_add_and_find(void **state)
{
	struct fixture *f = *state;
	struct errinfo e;
	int existed = -1;
	const char *up = spooled(f, "disk", 4096);
	assert_int_equal(add(f, "deb", NULL, "disk", "raw", SHA_A, up, 4096, SHA_A, &existed, &e), 0);
	assert_int_equal(existed, 0);
	char p[1300], names[256];
	snprintf(p, sizeof(p), "%s/deb", f->images);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444); /* no VM may write it */
	assert_int_equal(st.st_size, 4096);
	listing(f->spool, names, sizeof(names));
	assert_string_equal(names, ""); /* moved, not copied */

	char path[1200];
	struct image_meta m;
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_find(&f->a, "deb", "disk", "disks[0].image", path, sizeof(path), &m, &e), 0);
	assert_string_equal(path, p);
	assert_string_equal(m.format, "raw");
	assert_string_equal(m.sha256, SHA_A);
	assert_string_equal(m.datastore, "local");
	assert_int_equal(m.virtual_bytes, 4096);

	/* The same bytes again are 200-like; other bytes under the id are 409. */
	up = spooled(f, "disk", 4096);
	assert_int_equal(add(f, "deb", NULL, "disk", "raw", NULL, up, 4096, SHA_A, &existed, &e), 0);
	assert_int_equal(existed, 1);
	assert_int_equal(add(f, "deb", NULL, "disk", "raw", NULL, up, 4096, SHA_B, &existed, &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "image_exists");

	/* Found only as its kind, and by id only. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_find(&f->a, "deb", "kernel", "boot.kernel_image", path, sizeof(path), &m, &e), -1);
	assert_string_equal(e.field, "boot.kernel_image");
	assert_non_null(strstr(e.message, "is a disk image, not a kernel"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_find(&f->a, "nope", "disk", "disks[1].image", path, sizeof(path), &m, &e), -1);
	assert_string_equal(e.field, "disks[1].image");
	assert_non_null(strstr(e.message, "upload it first"));
	static const char *const not_ids[] = {"../ds/images/deb", "/etc/shadow", ".spool", "deb.json", ""};
	for (size_t i = 0; i < ARRAY_LEN(not_ids); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(images_find(&f->a, not_ids[i], NULL, "x", path, sizeof(path), &m, &e), -1);
		assert_int_equal(e.status, 400);
		assert_non_null(strstr(e.message, "not an image id"));
	}
}

/* Every refusal: the right status, code and field, and no file left. */
static void test_refusals_leave_nothing(void **state)
{
	struct fixture *f = *state;
	struct errinfo e;
	int existed;
	static const struct {
		const char *id, *ds, *kind, *format, *expect, *head_kind;
		size_t n;
		unsigned status;
		const char *code, *field, *text;
	} cases[] = {
		{"k", NULL, "kernel", "raw", NULL, "disk", 4096, 400, "invalid_image", NULL, "not an x86 Linux kernel"},
		{"c", NULL, "iso", "raw", NULL, "disk", 65536, 400, "invalid_image", NULL, "CD001"},
		{"c", NULL, "iso", "qcow2", NULL, "disk", 65536, 400, "invalid_image", NULL, "raw, not 'qcow2'"},
		{"i", NULL, "initrd", "raw", NULL, "disk", 4096, 400, "invalid_image", NULL, "not an initramfs"},
		{"k", NULL, "kernel", "qcow2", NULL, "kernel", 4096, 400, "invalid_image", NULL, "format is raw"},
		{"d", NULL, "disk", "qcow2", NULL, "disk", 4096, 400, "invalid_image", NULL, "not a qcow2 image"},
		{"d", NULL, "disk", "raw", NULL, "disk", 1000, 400, "invalid_image", NULL, "512-byte sectors"},
		{"d", NULL, "disk", NULL, NULL, "disk", 4096, 400, "invalid_image", NULL, "'qcow2' or 'raw'"},
		{"d", NULL, "disk", "raw", SHA_B, "disk", 4096, 400, "checksum_mismatch", "sha256", SHA_B},
		{"d", NULL, "firmware", "raw", NULL, "disk", 4096, 400, "invalid_request", "kind", "disk, kernel, initrd or iso"},
		{"d", "nope", "disk", "raw", NULL, "disk", 4096, 400, "invalid_request", "datastore", "no datastore 'nope'"},
		{"a.json", NULL, "disk", "raw", NULL, "disk", 4096, 400, "invalid_request", "id", "not ending in .json"},
		{".x", NULL, "disk", "raw", NULL, "disk", 4096, 400, "invalid_request", "id", "not a valid image id"},
		{"a/b", NULL, "disk", "raw", NULL, "disk", 4096, 400, "invalid_request", "id", "not a valid image id"},
	};
	char before[512], after[512];
	listing(f->images, before, sizeof(before));
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *up = spooled(f, cases[i].head_kind, cases[i].n);
		int rc = add(f, cases[i].id, cases[i].ds, cases[i].kind, cases[i].format, cases[i].expect, up,
		             cases[i].n, SHA_A, &existed, &e);
		if (rc != -1 || e.status != cases[i].status || strcmp(e.code, cases[i].code) ||
		    strcmp(e.field, cases[i].field ? cases[i].field : "") || !strstr(e.message, cases[i].text))
			fail_msg("case %zu (%s): rc=%d %u %s field '%s': %s", i, cases[i].id, rc, e.status, e.code,
			         e.field, e.message);
		unlink(up); /* the HTTP layer's part, once the request is done */
		listing(f->images, after, sizeof(after));
		if (strcmp(before, after))
			fail_msg("case %zu (%s) left files: '%s' (was '%s')", i, cases[i].id, after, before);
	}
}

/* The upload is spooled on the first datastore; an image for a datastore on
 * another filesystem is copied there whole, with nothing left behind. */
static void test_other_filesystem(void **state)
{
	struct fixture *f = *state;
	if (!f->shm)
		skip();
	struct errinfo e;
	int existed;
	const char *up = spooled(f, "kernel", 3 << 20);
	assert_int_equal(add(f, "vmlinuz", "shm", "kernel", "raw", NULL, up, 3 << 20, SHA_A, &existed, &e), 0);
	char p[1300], names[256];
	snprintf(p, sizeof(p), "%s/images/vmlinuz", f->shm);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 3 << 20);
	assert_int_equal(st.st_mode & 0777, 0444);
	snprintf(p, sizeof(p), "%s/images", f->shm);
	listing(p, names, sizeof(names));
	assert_string_equal(names, "vmlinuz vmlinuz.json");
	listing(f->spool, names, sizeof(names));
	assert_string_equal(names, "");
	char path[1200];
	struct image_meta m;
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_find(&f->a, "vmlinuz", "kernel", "boot.kernel_image", path, sizeof(path), &m, &e), 0);
	assert_string_equal(m.datastore, "shm");
	/* One id, one image: not again on another datastore. */
	up = spooled(f, "kernel", 4096);
	assert_int_equal(add(f, "vmlinuz", "local", "kernel", "raw", NULL, up, 4096, SHA_B, &existed, &e), -1);
	assert_int_equal(e.status, 409);
	unlink(up);
}

static void test_list_and_remove(void **state)
{
	struct fixture *f = *state;
	struct errinfo e;
	int existed;
	const char *up = spooled(f, "kernel", 4096);
	assert_int_equal(add(f, "k1", NULL, "kernel", "raw", NULL, up, 4096, SHA_A, &existed, &e), 0);
	up = spooled(f, "initrd", 512);
	assert_int_equal(add(f, "i1", NULL, "initrd", NULL, NULL, up, 512, SHA_B, &existed, &e), 0);
	json_t *list = images_list(&f->a);
	assert_int_equal(json_array_size(list), 2);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *kind = json_string_value(json_object_get(v, "kind"));
		assert_true((!strcmp(id, "k1") && !strcmp(kind, "kernel")) ||
		            (!strcmp(id, "i1") && !strcmp(kind, "initrd")));
		assert_string_equal(json_string_value(json_object_get(v, "format")), "raw");
	}
	json_decref(list);

	/* A VM that boots from k1 keeps it. */
	struct vm vm = {0};
	snprintf(vm.spec.name, sizeof(vm.spec.name), "web");
	char kpath[1300];
	snprintf(kpath, sizeof(kpath), "%s/k1", f->images);
	vm.spec.kernel = kpath;
	f->a.vms = &vm;
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_remove(&f->a, "k1", &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "in_use");
	assert_non_null(strstr(e.message, "'web'"));
	f->a.vms = NULL;
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_remove(&f->a, "k1", &e), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_remove(&f->a, "i1", &e), 0);
	char names[256];
	listing(f->images, names, sizeof(names));
	assert_string_equal(names, ".spool");
	memset(&e, 0, sizeof(e));
	assert_int_equal(images_remove(&f->a, "k1", &e), -1);
	assert_int_equal(e.status, 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_and_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_leave_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_filesystem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_remove, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
