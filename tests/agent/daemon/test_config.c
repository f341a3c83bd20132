/* test_config.c - vdc-agent settings: each key with good and bad values
 * (an error names the key, and in a file the line), the file format, and
 * the command line with its --config ordering rule. */
#include "testutil.h"

#include "config.h"
#include "fsutil.h"

#include <sys/stat.h>

/* The value a key ended up with, as text, so one table covers all types. */
static void field_text(const struct agent_config *c, const char *key, char *out, size_t n)
{
	if (!strcmp(key, "listen"))
		snprintf(out, n, "%s", c->listen);
	else if (!strcmp(key, "token-file"))
		snprintf(out, n, "%s", c->token_file);
	else if (!strcmp(key, "state-dir"))
		snprintf(out, n, "%s", c->state_dir);
	else if (!strcmp(key, "run-dir"))
		snprintf(out, n, "%s", c->run_dir);
	else if (!strcmp(key, "qemu-user"))
		snprintf(out, n, "-");
	else if (!strcmp(key, "vm-id-range"))
		snprintf(out, n, "%u-%u", c->vm_id_lo, c->vm_id_hi);
	else if (!strcmp(key, "image-root"))
		snprintf(out, n, "%s", c->nimage_roots ? c->image_roots[c->nimage_roots - 1] : "");
	else if (!strcmp(key, "qemu-binary"))
		snprintf(out, n, "%s", c->qemu_binary);
	else if (!strcmp(key, "accel"))
		snprintf(out, n, "%s", c->accel);
	else if (!strcmp(key, "cgroup-base"))
		snprintf(out, n, "%s", c->cgroup_base);
	else if (!strcmp(key, "sandbox"))
		snprintf(out, n, "%d", c->sandbox);
	else if (!strcmp(key, "log-level"))
		snprintf(out, n, "%d", c->log_level);
	else if (!strcmp(key, "console-log-bytes"))
		snprintf(out, n, "%zu", c->console_log_bytes);
	else if (!strcmp(key, "nat-network")) {
		char gw[16];
		nat_addr_text(c->nat.gw, gw);
		if (c->nat.enabled)
			snprintf(out, n, "%s/%d", gw, c->nat.prefix);
		else
			snprintf(out, n, "off");
	} else if (!strcmp(key, "datastore") && c->ndatastores > 0)
		snprintf(out, n, "%d:%s=%s", c->ndatastores, c->datastores[c->ndatastores - 1].name,
		         c->datastores[c->ndatastores - 1].path);
	else
		snprintf(out, n, "?");
}

struct set_case {
	const char *key, *value;
	const char *want; /* the field afterwards when accepted; NULL: refused */
};

static const struct set_case set_cases[] = {
	{"listen", "0.0.0.0:7441", "0.0.0.0:7441"},
	{"listen", "[::1]:80", "[::1]:80"},
	{"token-file", "/etc/vdc/t", "/etc/vdc/t"},
	{"state-dir", "/srv/vdc", "/srv/vdc"},
	{"run-dir", "/run/x", "/run/x"},
	{"vm-id-range", "200000-299999", "200000-299999"},
	{"vm-id-range", "1000-1000", "1000-1000"},
	{"qemu-user", "vdc-qemu", NULL},
	{"vm-id-range", "999-2000", NULL},
	{"vm-id-range", "3000-2000", NULL},
	{"vm-id-range", "200000", NULL},
	{"vm-id-range", "200000-", NULL},
	{"vm-id-range", "200000-2147483648", NULL},
	{"vm-id-range", "a-b", NULL},
	{"image-root", "/srv/images", "/srv/images"},
	{"image-root", "srv/images", NULL},
	{"image-root", "/", NULL},
	{"qemu-binary", "/opt/qemu/bin/qemu-system-x86_64", "/opt/qemu/bin/qemu-system-x86_64"},
	{"accel", "auto", "auto"},
	{"accel", "kvm", "kvm"},
	{"accel", "tcg", "tcg"},
	{"accel", "hvf", NULL},
	{"accel", "KVM", NULL},
	{"accel", "", NULL},
	{"cgroup-base", "vdc-test", "vdc-test"},
	{"cgroup-base", "../escape", NULL},
	{"cgroup-base", "a/b", NULL},
	{"cgroup-base", "", NULL},
	{"sandbox", "off", "0"},
	{"sandbox", "0", "0"},
	{"sandbox", "on", "1"},
	{"sandbox", "1", "1"},
	{"log-level", "debug", "0"},
	{"log-level", "info", "1"},
	{"log-level", "warn", "2"},
	{"log-level", "error", "3"},
	{"log-level", "verbose", NULL},
	{"log-level", "", NULL},
	{"console-log-bytes", "4096", "4096"},
	{"console-log-bytes", "1073741824", "1073741824"},
	{"console-log-bytes", "4095", NULL},
	{"console-log-bytes", "1073741825", NULL},
	{"console-log-bytes", "1M", NULL},
	{"console-log-bytes", "", NULL},
	{"console-log-bytes", "-1", NULL},
	{"console-log-bytes", "99999999999999999999999", NULL},
	{"datastore", "fast=/srv/fast", "1:fast=/srv/fast"},
	{"datastore", "fast=/a=b", "1:fast=/a=b"},
	{"datastore", "fast", NULL},
	{"datastore", "=/srv", NULL},
	{"datastore", "fast=srv", NULL},
	{"datastore", "fast=", NULL},
	{"datastore", "../x=/srv", NULL},
	{"datastore", "a b=/srv", NULL},
	{"nat-network", "10.9.0.1/16", "10.9.0.1/16"},
	{"nat-network", "10.9.255.254/16", "10.9.255.254/16"},
	{"nat-network", "off", "off"},
	{"nat-network", "192.168.123.0/24", NULL},   /* the subnet's own address */
	{"nat-network", "192.168.123.255/24", NULL}, /* its broadcast */
	{"nat-network", "192.168.123.1", NULL},
	{"nat-network", "192.168.123.1/", NULL},
	{"nat-network", "192.168.123.1/30", NULL},
	{"nat-network", "192.168.123.1/7", NULL},
	{"nat-network", "192.168.123.1/24x", NULL},
	{"nat-network", "300.1.1.1/24", NULL},
	{"nat-network", "fd00::1/64", NULL},
	{"nat-network", "", NULL},
	{"nat-network", "OFF", NULL},
};

static void test_set_table(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(set_cases); i++) {
		const struct set_case *t = &set_cases[i];
		struct agent_config c;
		config_defaults(&c);
		char before[2048], after[2048], err[1024] = "";
		field_text(&c, t->key, before, sizeof(before));
		int rc = config_set(&c, t->key, t->value, err, sizeof(err));
		field_text(&c, t->key, after, sizeof(after));
		if (t->want) {
			if (rc != 0 || strcmp(after, t->want) != 0)
				fail_msg("%s=%s: rc %d err '%s', field '%s' (want '%s')", t->key, t->value, rc,
				         err, after, t->want);
		} else {
			/* Refused: the message starts with the key, the value is unchanged. */
			size_t kl = strlen(t->key);
			if (rc != -1 || strncmp(err, t->key, kl) != 0 || err[kl] != ':' ||
			    strcmp(before, after) != 0)
				fail_msg("%s=%s: rc %d err '%s' field '%s' (was '%s')", t->key, t->value, rc, err,
				         after, before);
		}
	}
}

static void test_set_unknown_and_long(void **state)
{
	struct agent_config c;
	config_defaults(&c);
	char err[1024] = "";
	assert_int_equal(config_set(&c, "listen-addr", "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown setting 'listen-addr'"));
	assert_int_equal(config_set(&c, "", "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown setting ''"));

	/* A value that does not fit is refused, never cut short. */
	char big[1100];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '/';
	static const char *const keys[] = {"listen", "token-file", "state-dir", "run-dir",
	                                   "image-root", "qemu-binary"};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		err[0] = '\0';
		assert_int_equal(config_set(&c, keys[i], big, err, sizeof(err)), -1);
		assert_int_equal(strncmp(err, keys[i], strlen(keys[i])), 0);
		assert_non_null(strstr(err, "too long"));
	}
	config_defaults(&c);
	/* 127 characters fit listen[128]; 128 do not. */
	big[127] = '\0';
	assert_int_equal(config_set(&c, "listen", big, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.listen), 127);
	big[127] = 'a';
	big[128] = '\0';
	assert_int_equal(config_set(&c, "listen", big, err, sizeof(err)), -1);
}

static void test_datastores(void **state)
{
	struct agent_config c;
	config_defaults(&c);
	char err[1024] = "";
	assert_int_equal(c.ndatastores, 0);
	assert_int_equal(config_set(&c, "datastore", "a=/1", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "datastore", "b=/2", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "datastore", "a=/3", err, sizeof(err)), 0); /* replaces */
	assert_int_equal(c.ndatastores, 2);
	assert_string_equal(config_datastore(&c, "a")->path, "/3");
	assert_string_equal(config_datastore(&c, "b")->path, "/2");
	assert_null(config_datastore(&c, "c"));
	for (int i = 2; i < MAX_DATASTORES; i++) {
		char v[32];
		snprintf(v, sizeof(v), "d%d=/d", i);
		assert_int_equal(config_set(&c, "datastore", v, err, sizeof(err)), 0);
	}
	assert_int_equal(config_set(&c, "datastore", "one-too-many=/x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 16"));
	assert_int_equal(c.ndatastores, MAX_DATASTORES);

	/* A name or path that does not fit is refused, not silently cut: a
	 * cut path would point at another directory. */
	config_defaults(&c);
	char v[1200];
	memset(v, 'n', 64);
	snprintf(v + 64, sizeof(v) - 64, "=/srv");
	err[0] = '\0';
	assert_int_equal(config_set(&c, "datastore", v, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "datastore:", 10), 0);
	assert_int_equal(c.ndatastores, 0);
	snprintf(v, sizeof(v), "long=/");
	memset(v + 6, 'p', 1030);
	v[1036] = '\0';
	err[0] = '\0';
	assert_int_equal(config_set(&c, "datastore", v, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "datastore:", 10), 0);
	assert_int_equal(c.ndatastores, 0);
	/* 63 characters of name and 1023 of path are the limits. */
	memset(v, 'n', 63);
	v[63] = '=';
	v[64] = '/';
	memset(v + 65, 'p', 1022);
	v[1087] = '\0';
	assert_int_equal(config_set(&c, "datastore", v, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.datastores[0].name), 63);
	assert_int_equal(strlen(c.datastores[0].path), 1023);
}

struct files {
	char *dir;
	char path[600];
};

static int files_setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));
	f->dir = tu_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/agent.conf", f->dir);
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;
	fs_remove_tree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void write_conf(struct files *f, const char *text)
{
	tu_write_file(f->path, text, strlen(text));
}

static void test_file_good(void **state)
{
	struct files *f = *state;
	write_conf(f, "# vdc-agent\n"
	              "\n"
	              "   \t\n"
	              "  listen = 0.0.0.0:9000\n"
	              "\tstate-dir=/srv/state\r\n"
	              "datastore = fast=/srv/fast\n"
	              "  # indented comment\n"
	              "accel=tcg   \n"       /* trailing blanks are not part of a value */
	              "sandbox=off\t\n"
	              "log-level=debug");   /* no final newline */
	struct agent_config c;
	config_defaults(&c);
	char err[1024] = "";
	if (config_load_file(&c, f->path, 1, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(c.listen, "0.0.0.0:9000");
	assert_string_equal(c.state_dir, "/srv/state");
	assert_int_equal(c.ndatastores, 1);
	assert_string_equal(c.datastores[0].name, "fast");
	assert_string_equal(c.datastores[0].path, "/srv/fast");
	assert_string_equal(c.accel, "tcg");
	assert_int_equal(c.sandbox, 0);
	assert_int_equal(c.log_level, 0);
	assert_string_equal(c.run_dir, "/run/vdc-agent"); /* untouched keys keep defaults */
}

struct file_bad {
	const char *text;
	int line;
	const char *msg;
};

static void test_file_bad(void **state)
{
	struct files *f = *state;
	static const struct file_bad cases[] = {
		{"listen=1.2.3.4:1\njust some words\n", 2, "expected key=value"},
		{"# c\n\nfoo=bar\n", 3, "unknown setting 'foo'"},
		{"accel=kvm\nsandbox=on\naccel=xen\n", 3, "accel: must be auto, kvm or tcg"},
		{"console-log-bytes=12\n", 1, "console-log-bytes:"},
		{"=value\n", 1, "unknown setting ''"},
		{"datastore=x\n", 1, "datastore:"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		write_conf(f, cases[i].text);
		struct agent_config c;
		config_defaults(&c);
		char err[1024] = "", want[700];
		snprintf(want, sizeof(want), "%s:%d: ", f->path, cases[i].line);
		int rc = config_load_file(&c, f->path, 1, err, sizeof(err));
		if (rc != -1 || strncmp(err, want, strlen(want)) != 0 || !strstr(err, cases[i].msg))
			fail_msg("case %zu: rc %d err '%s', want '%s...%s'", i, rc, err, want, cases[i].msg);
	}
}

/* A line longer than the reader's buffer must not be read as two lines:
 * the tail of a long comment would become a setting. */
static void test_file_long_line(void **state)
{
	struct files *f = *state;
	size_t n = 5000;
	char *text = malloc(n + 64);
	assert_non_null(text);
	for (size_t pad = 2040; pad < 2060; pad++) {
		text[0] = '#';
		memset(text + 1, 'x', pad);
		snprintf(text + 1 + pad, 64, "listen=6.6.6.6:1\n");
		write_conf(f, text);
		struct agent_config c;
		config_defaults(&c);
		char err[1024] = "";
		int rc = config_load_file(&c, f->path, 1, err, sizeof(err));
		assert_string_equal(c.listen, "127.0.0.1:7441");
		/* Either read whole (a comment) or refused, naming line 1. */
		if (rc != 0) {
			char want[700];
			snprintf(want, sizeof(want), "%s:1: ", f->path);
			assert_int_equal(strncmp(err, want, strlen(want)), 0);
		}
	}
	free(text);
}

static void test_file_missing(void **state)
{
	struct files *f = *state;
	char path[700], err[1024] = "";
	snprintf(path, sizeof(path), "%s/none.conf", f->dir);
	struct agent_config c;
	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, 0, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "127.0.0.1:7441");
	assert_int_equal(config_load_file(&c, path, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	/* A directory is not a config file, even an optional one. */
	err[0] = '\0';
	assert_int_equal(config_load_file(&c, f->dir, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, f->dir));
}

/* config_parse_args on the NULL-terminated arguments after argv[0]. */
static int parse(struct agent_config *c, char *err, size_t errlen, ...)
{
	char *argv[32];
	int argc = 1;
	va_list ap;
	va_start(ap, errlen);
	argv[0] = "vdc-agent";
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	config_defaults(c);
	err[0] = '\0';
	return config_parse_args(c, argc, argv, err, errlen);
}

static void test_args(void **state)
{
	struct files *f = *state;
	struct agent_config c;
	char err[1024], cfgflag[700];

	if (parse(&c, err, sizeof(err), "--listen=1.2.3.4:5", "--state-dir", "/s", "--accel",
	          "tcg", NULL) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(c.listen, "1.2.3.4:5");
	assert_string_equal(c.accel, "tcg");
	/* Without --datastore, "local" lives under the state directory. */
	assert_int_equal(c.ndatastores, 1);
	assert_string_equal(c.datastores[0].name, "local");
	assert_string_equal(c.datastores[0].path, "/s/datastore");

	assert_int_equal(parse(&c, err, sizeof(err), "--datastore", "big=/big", NULL), 0);
	assert_int_equal(c.ndatastores, 1);
	assert_string_equal(c.datastores[0].name, "big");

	/* Flags override the file wherever --config stands. */
	write_conf(f, "listen=9.9.9.9:9\nrun-dir=/from/file\n");
	assert_int_equal(parse(&c, err, sizeof(err), "--listen=1.1.1.1:1", "--config", f->path, NULL), 0);
	assert_string_equal(c.listen, "1.1.1.1:1");
	assert_string_equal(c.run_dir, "/from/file");
	snprintf(cfgflag, sizeof(cfgflag), "--config=%s", f->path);
	assert_int_equal(parse(&c, err, sizeof(err), cfgflag, "--listen=2.2.2.2:2", NULL), 0);
	assert_string_equal(c.listen, "2.2.2.2:2");
	assert_string_equal(c.run_dir, "/from/file");

	/* A bad file line is reported with the file's name and line. */
	write_conf(f, "listen=9.9.9.9:9\nnope=1\n");
	assert_int_equal(parse(&c, err, sizeof(err), "--config", f->path, NULL), -1);
	char want[700];
	snprintf(want, sizeof(want), "%s:2: unknown setting 'nope'", f->path);
	assert_non_null(strstr(err, want));
	assert_int_equal(parse(&c, err, sizeof(err), "--config", "/nonexistent/vdc.conf", NULL), -1);
	assert_non_null(strstr(err, "/nonexistent/vdc.conf"));

	assert_int_equal(parse(&c, err, sizeof(err), "positional", NULL), -1);
	assert_non_null(strstr(err, "unexpected argument 'positional'"));
	assert_int_equal(parse(&c, err, sizeof(err), "--listen", NULL), -1);
	assert_non_null(strstr(err, "--listen needs a value"));
	assert_int_equal(parse(&c, err, sizeof(err), "--config", NULL), -1);
	assert_non_null(strstr(err, "--config needs a value"));
	assert_int_equal(parse(&c, err, sizeof(err), "--bogus=1", NULL), -1);
	assert_non_null(strstr(err, "unknown setting 'bogus'"));
	assert_int_equal(parse(&c, err, sizeof(err), "--accel=xen", NULL), -1);
	assert_int_equal(strncmp(err, "accel:", 6), 0);
	assert_int_equal(parse(&c, err, sizeof(err), "-listen=x", NULL), -1);
}

static void test_help(void **state)
{
	struct agent_config c;
	char err[1024];
	/* --help prints usage on stdout; keep the test log clean. */
	fflush(stdout);
	FILE *saved = stdout;
	stdout = fopen("/dev/null", "w");
	int rc1 = parse(&c, err, sizeof(err), "--help", NULL);
	int rc2 = parse(&c, err, sizeof(err), "--listen=1.2.3.4:5", "-h", NULL);
	fclose(stdout);
	stdout = saved;
	assert_int_equal(rc1, 1);
	assert_int_equal(rc2, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_table),
		cmocka_unit_test(test_set_unknown_and_long),
		cmocka_unit_test(test_datastores),
		cmocka_unit_test_setup_teardown(test_file_good, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_file_bad, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_file_long_line, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_file_missing, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_args, files_setup, files_teardown),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
