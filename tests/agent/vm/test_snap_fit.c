/* test_snap_fit.c - which RAM snapshots a VM can load after a resize, and
 * what the refusal and the resize's warnings say: the hardware on both
 * sides and what to do. */
#include "testutil.h"

#include "snap_fit.h"

static json_t *snap(const char *name, long long ram, int vcpus, long long mem)
{
	json_t *s = json_pack("{s:s, s:I, s:I}", "name", name, "vm_state_bytes", (json_int_t)ram, "date_sec",
	                      (json_int_t)1);
	if (vcpus)
		json_object_update_new(s, json_pack("{s:i, s:I}", "vcpus", vcpus, "memory_mib", (json_int_t)mem));
	return s;
}

static void test_revert_same_hardware(void **state)
{
	(void)state;
	struct errinfo e = {0};
	json_t *s = snap("ram1", 4096, 2, 512);
	assert_int_equal(snap_fit_check_revert(s, 2, 512, &e), 0);
	json_decref(s);
}

static void test_revert_other_hardware_refused(void **state)
{
	(void)state;
	struct errinfo e = {0};
	json_t *s = snap("ram1", 4096, 2, 512);
	assert_int_equal(snap_fit_check_revert(s, 1, 768, &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "snapshot_incompatible");
	assert_non_null(strstr(e.message, "'ram1'"));
	assert_non_null(strstr(e.message, "2 vCPUs and 512 MiB"));
	assert_non_null(strstr(e.message, "1 vCPU and 768 MiB"));
	assert_non_null(strstr(e.message, "Stop the VM and revert"));
	assert_non_null(strstr(e.message, "resize it back to 2 vCPUs and 512 MiB"));
	json_decref(s);
	/* Memory alone is enough to refuse. */
	s = snap("ram2", 4096, 1, 512);
	assert_int_equal(snap_fit_check_revert(s, 1, 768, &e), -1);
	json_decref(s);
}

static void test_revert_unknown_or_disk_only_allowed(void **state)
{
	(void)state;
	struct errinfo e = {0};
	json_t *s = snap("old", 4096, 0, 0); /* no record: nothing known */
	assert_int_equal(snap_fit_check_revert(s, 1, 768, &e), 0);
	json_decref(s);
	s = snap("disk", 0, 2, 512); /* no RAM to load */
	assert_int_equal(snap_fit_check_revert(s, 1, 768, &e), 0);
	json_decref(s);
}

static void test_resize_warnings(void **state)
{
	(void)state;
	json_t *list = json_pack("[o, o, o, o]", snap("fits", 4096, 1, 768), snap("big", 4096, 2, 512),
	                         snap("disk", 0, 0, 0), snap("old", 4096, 0, 0));
	json_t *w = snap_fit_resize_warnings(list, 1, 768);
	assert_int_equal(json_array_size(w), 2);
	const char *w0 = json_string_value(json_array_get(w, 0));
	const char *w1 = json_string_value(json_array_get(w, 1));
	assert_non_null(strstr(w0, "'big' was taken with 2 vCPUs and 512 MiB"));
	assert_non_null(strstr(w0, "can no longer revert"));
	assert_non_null(strstr(w1, "'old'"));
	assert_non_null(strstr(w1, "did not record"));
	json_decref(w);
	/* Resized back: the snapshot fits again, no warning for it. */
	w = snap_fit_resize_warnings(list, 2, 512);
	assert_int_equal(json_array_size(w), 2); /* 'fits' and 'old' now */
	assert_non_null(strstr(json_string_value(json_array_get(w, 0)), "'fits'"));
	json_decref(w);
	json_decref(list);
	w = snap_fit_resize_warnings(NULL, 1, 64);
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revert_same_hardware),
		cmocka_unit_test(test_revert_other_hardware_refused),
		cmocka_unit_test(test_revert_unknown_or_disk_only_allowed),
		cmocka_unit_test(test_resize_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
