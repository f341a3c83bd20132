/* test_args.c - the flag parser: value forms, types, repeats, usage errors,
 * and the request body and error-field mapping the flags describe. */
#include "clitest.h"

#include "args.h"

#include <jansson.h>
#include <unistd.h>

static const struct opt opts[] = {
	{"template", 0, OPT_STR, "T", "t", "template", OPT_REQUIRED, NULL},
	{"vcpus", 0, OPT_INT, "N", "n", "vcpus", 0, NULL},
	{"ratio", 0, OPT_NUM, "R", "r", "cpu_overcommit", 0, NULL},
	{"network", 0, OPT_LIST, "NET", "n", "networks", 0, NULL},
	{"affinity", 0, OPT_LIST, "G", "g", "placement.affinity", 0, NULL},
	{"no-start", 0, OPT_FLAG, NULL, "s", "start", OPT_NEGATE, NULL},
	{"force", 0, OPT_FLAG, NULL, "f", "force", 0, NULL},
	{"user-data-file", 0, OPT_FILE, "F", "u", "user_data", 0, NULL},
	{"output", 'o', OPT_STR, "FMT", "o", NULL, 0, NULL},
	{0},
};
static const struct opt *const tables[] = {opts, NULL};

static int parse(struct args *a, char *err, size_t n, const char *line)
{
	static char buf[1024];
	static char *argv[64];
	int argc = ct_argv(line, buf, sizeof(buf), argv, 64);
	return args_parse(a, tables, argc - 1, argv + 1, err, n);
}

static void test_value_forms(void **state)
{
	struct args a;
	char err[256] = "";
	assert_int_equal(parse(&a, err, sizeof(err), "web --template=t1 --vcpus 4 -ojson --ratio 1.5"), 0);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "web");
	assert_string_equal(args_str(&a, "template"), "t1");
	assert_int_equal(args_value(&a, "vcpus")->i, 4);
	assert_true(args_value(&a, "ratio")->d == 1.5);
	assert_string_equal(args_str(&a, "output"), "json");
	assert_null(args_value(&a, "network"));
	assert_false(args_flag(&a, "no-start"));
	args_free(&a);

	assert_int_equal(parse(&a, err, sizeof(err), "-o table a -- --not-a-flag"), 0);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[1], "--not-a-flag");
	assert_string_equal(args_str(&a, "output"), "table");
	args_free(&a);

	assert_int_equal(parse(&a, err, sizeof(err), "--network a --network b x --network c --no-start"), 0);
	const struct opt_value *v = args_value(&a, "network");
	assert_int_equal(v->nlist, 3);
	assert_string_equal(v->list[0], "a");
	assert_string_equal(v->list[2], "c");
	assert_true(args_flag(&a, "no-start"));
	args_free(&a);

	assert_int_equal(parse(&a, err, sizeof(err), "x --help"), 0);
	assert_true(a.help);
	args_free(&a);
	assert_int_equal(parse(&a, err, sizeof(err), "-h"), 0);
	assert_true(a.help);
	args_free(&a);
}

static void expect_usage(const char *line, const char *msg)
{
	struct args a;
	char err[256] = "";
	assert_int_equal(parse(&a, err, sizeof(err), line), 2);
	if (!strstr(err, msg))
		fail_msg("'%s': expected '%s' in '%s'", line, msg, err);
	args_free(&a);
}

static void test_usage_errors(void **state)
{
	expect_usage("--bogus", "unknown flag '--bogus'");
	expect_usage("-x", "unknown flag '-x'");
	expect_usage("--bogus=1", "unknown flag '--bogus'");
	expect_usage("--template", "flag --template needs a value (T)");
	expect_usage("--vcpus two", "flag --vcpus expects a whole number, not 'two'");
	expect_usage("--vcpus 4x", "expects a whole number, not '4x'");
	expect_usage("--vcpus 99999999999999999999", "expects a whole number");
	expect_usage("--vcpus=", "expects a whole number, not ''");
	expect_usage("--ratio abc", "flag --ratio expects a number, not 'abc'");
	expect_usage("--ratio nan", "expects a number");
	expect_usage("--ratio inf", "expects a number");
	expect_usage("--no-start=yes", "flag --no-start takes no value");
	expect_usage("--template a --template b", "flag --template is given twice");
	expect_usage("--template=", "flag --template needs a non-empty T");
	expect_usage("a b c d e", "too many arguments ('e')");
}

static void test_required(void **state)
{
	struct args a;
	char err[256] = "";
	assert_int_equal(parse(&a, err, sizeof(err), "web"), 0);
	assert_int_equal(args_check_required(&a, err, sizeof(err)), 2);
	assert_string_equal(err, "flag --template T is required");
	args_free(&a);
	assert_int_equal(parse(&a, err, sizeof(err), "web --template x"), 0);
	assert_int_equal(args_check_required(&a, err, sizeof(err)), 0);
	args_free(&a);
}

static void test_fill_body(void **state)
{
	char path[] = "/tmp/vdc-cli-ud-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#cloud-config\nusers: []\n", 24), 24);
	close(fd);
	char line[512];
	snprintf(line, sizeof(line),
	         "w --template t --vcpus 2 --ratio 0.5 --network a --network b --affinity g1 --no-start "
	         "--force --user-data-file %s -o json", path);
	struct args a;
	char err[256] = "";
	assert_int_equal(parse(&a, err, sizeof(err), line), 0);
	json_t *body = json_object();
	assert_int_equal(args_fill_body(&a, body, err, sizeof(err)), 0);
	char *s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"cpu_overcommit\":0.5,\"force\":true,\"networks\":[\"a\",\"b\"],"
	                       "\"placement\":{\"affinity\":[\"g1\"]},\"start\":false,\"template\":\"t\","
	                       "\"user_data\":\"#cloud-config\\nusers: []\\n\",\"vcpus\":2}");
	free(s);
	json_decref(body);
	args_free(&a);
	unlink(path);

	/* An unreadable file is a usage error naming the flag. */
	assert_int_equal(parse(&a, err, sizeof(err), "--user-data-file /nonexistent/ud"), 0);
	body = json_object();
	assert_int_equal(args_fill_body(&a, body, err, sizeof(err)), 2);
	assert_string_equal(err, "cannot read --user-data-file /nonexistent/ud: No such file or directory");
	json_decref(body);
	args_free(&a);
}

static void test_opt_for_field(void **state)
{
	struct args a;
	char err[256];
	assert_int_equal(parse(&a, err, sizeof(err), ""), 0);
	assert_string_equal(args_opt_for_field(&a, "vcpus")->name, "vcpus");
	assert_string_equal(args_opt_for_field(&a, "networks[1]")->name, "network");
	assert_string_equal(args_opt_for_field(&a, "placement.affinity[0]")->name, "affinity");
	assert_string_equal(args_opt_for_field(&a, "user_data")->name, "user-data-file");
	assert_null(args_opt_for_field(&a, "memory_mib"));
	assert_null(args_opt_for_field(&a, ""));
	assert_null(args_opt_for_field(&a, NULL));
	args_free(&a);
}

/* Sizes and durations: every such flag goes through units.c, so "2G" and
 * "5m" mean the same on every command; a bare number keeps its old unit. */
static const struct opt qty_opts[] = {
	{"memory-mib", 0, OPT_SIZE, "SIZE", "", "memory_mib", 0, NULL},
	{"timeout", 0, OPT_DURATION, "DURATION", "", "timeout_s", OPT_ZERO, NULL},
	{"ttl", 0, OPT_DURATION, "DURATION", "", "ttl_s", 0, NULL},
	{"bytes", 0, OPT_BYTES, "SIZE", "", NULL, 0, NULL},
	{0},
};

static void test_quantities(void **state)
{
	const struct opt *const qt[] = {qty_opts, NULL};
	struct {
		const char *line;
		const char *flag;
		long long want; /* -1: a usage error holding msg */
		const char *msg;
	} cases[] = {
		{"--memory-mib 2G", "memory-mib", 2048, NULL},
		{"--memory-mib 2048", "memory-mib", 2048, NULL},
		{"--memory-mib=1.5g", "memory-mib", 1536, NULL},
		{"--memory-mib 512MiB", "memory-mib", 512, NULL},
		{"--timeout 5m", "timeout", 300, NULL},
		{"--timeout 90", "timeout", 90, NULL},
		{"--timeout 0", "timeout", 0, NULL},
		{"--timeout 1m30s", "timeout", 90, NULL},
		{"--ttl 5s", "ttl", 5, NULL},
		{"--ttl 30d", "ttl", 2592000, NULL},
		{"--ttl 3600", "ttl", 3600, NULL},
		{"--bytes 16K", "bytes", 16384, NULL},
		{"--bytes 100", "bytes", 100, NULL},
		{"--memory-mib 2X", NULL, -1, "flag --memory-mib: '2X' is not a size"},
		{"--memory-mib -1G", NULL, -1, "flag --memory-mib: '-1G' is not a size"},
		{"--memory-mib 100K", NULL, -1, "flag --memory-mib: '100K' is not a whole number of MiB"},
		{"--memory-mib=", NULL, -1, "flag --memory-mib: '' is not a size"},
		{"--timeout 5x", NULL, -1, "flag --timeout: '5x' is not a duration"},
		{"--timeout -5m", NULL, -1, "flag --timeout: '-5m' is not a duration"},
		{"--ttl 0", NULL, -1, "flag --ttl: '0' is no time at all"},
		{"--ttl 5M", NULL, -1, "flag --ttl: '5M' is not a duration: units are lower case"},
		{"--ttl 200000d", NULL, -1, "flag --ttl: '200000d' is too long"},
		{"--bytes 1.5", NULL, -1, "flag --bytes: '1.5' is not a whole number of bytes"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static char buf[256];
		static char *argv[8];
		int argc = ct_argv(cases[i].line, buf, sizeof(buf), argv, 8);
		/* ct_argv splits on spaces: "--memory-mib=" keeps its empty value */
		struct args a;
		char err[256] = "";
		int rc = args_parse(&a, qt, argc - 1, argv + 1, err, sizeof(err));
		if (cases[i].want >= 0) {
			if (rc != 0)
				fail_msg("'%s' refused: %s", cases[i].line, err);
			assert_int_equal(args_value(&a, cases[i].flag)->i, cases[i].want);
		} else if (rc != 2 || !strstr(err, cases[i].msg)) {
			fail_msg("'%s': rc %d, err '%s', want '%s'", cases[i].line, rc, err, cases[i].msg);
		}
		args_free(&a);
	}
	/* The body gets the number vdcd counts in; the word stays as typed. */
	static char buf[128];
	static char *argv[8];
	int argc = ct_argv("x --memory-mib 2G --timeout 5m", buf, sizeof(buf), argv, 8);
	struct args a;
	char err[128];
	assert_int_equal(args_parse(&a, qt, argc, argv, err, sizeof(err)), 0);
	json_t *body = json_object();
	assert_int_equal(args_fill_body(&a, body, err, sizeof(err)), 0);
	char *s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"memory_mib\":2048,\"timeout_s\":300}");
	assert_string_equal(args_str(&a, "memory-mib"), "2G");
	free(s);
	json_decref(body);
	args_free(&a);
}

/* A name in two tables belongs to the first (a command's own --server). */
static void test_table_precedence(void **state)
{
	static const struct opt mine[] = {{"output", 0, OPT_FLAG, NULL, "", NULL, 0, NULL}, {0}};
	const struct opt *const both[] = {mine, opts, NULL};
	static char buf[64];
	static char *argv[8];
	int argc = ct_argv("--output", buf, sizeof(buf), argv, 8);
	struct args a;
	char err[128];
	assert_int_equal(args_parse(&a, both, argc - 1, argv + 1, err, sizeof(err)), 0);
	assert_true(args_flag(&a, "output"));
	args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_fill_body),
		cmocka_unit_test(test_opt_for_field),
		cmocka_unit_test(test_table_precedence),
		cmocka_unit_test(test_quantities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
