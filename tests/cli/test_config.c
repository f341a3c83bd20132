/* test_config.c - the config file: where it is, both formats read, written
 * 0600 and read back, and the precedence flags > env > file > default. */
#include "clitest.h"

#include "config.h"

#include <sys/stat.h>

static char *dir;

static int setup(void **state)
{
	dir = ct_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
	return 0;
}

static void test_path(void **state)
{
	char p[1024];
	setenv("VDC_CONFIG", "/etc/vdc-cli.conf", 1);
	assert_int_equal(config_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/etc/vdc-cli.conf");
	unsetenv("VDC_CONFIG");
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(config_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/x/cfg/vdc/config");
	setenv("XDG_CONFIG_HOME", "relative", 1); /* ignored, as the XDG spec says */
	assert_int_equal(config_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/home/u/.config/vdc/config");
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(config_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/home/u/.config/vdc/config");
	unsetenv("HOME");
	assert_int_equal(config_path(p, sizeof(p)), -1);
}

static void test_round_trip(void **state)
{
	char path[700], err[256];
	snprintf(path, sizeof(path), "%s/new/sub/config", dir);
	struct cli_config c = {0}, back;
	snprintf(c.server, sizeof(c.server), "https://vdcd.example:7443");
	snprintf(c.token, sizeof(c.token), "vdct_0123456789abcdef");
	snprintf(c.tls_pin, sizeof(c.tls_pin), "sha256//AAAA=");
	snprintf(c.ca_file, sizeof(c.ca_file), "%s/new/sub/ca-vdcd.example_7443.pem", dir);
	snprintf(c.ca_fingerprint, sizeof(c.ca_fingerprint), "sha256:%064d", 7);
	assert_int_equal(config_write(path, &c, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char d[700];
	snprintf(d, sizeof(d), "%s/new/sub", dir);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	int loose = -1;
	assert_int_equal(config_read(path, &back, &loose, err, sizeof(err)), 0);
	assert_int_equal(loose, 0);
	assert_string_equal(back.server, c.server);
	assert_string_equal(back.token, c.token);
	assert_string_equal(back.tls_pin, c.tls_pin);
	assert_string_equal(back.ca_file, c.ca_file);
	assert_string_equal(back.ca_fingerprint, c.ca_fingerprint);

	/* Rewriting replaces the file whole and keeps it private. */
	chmod(path, 0644);
	assert_int_equal(config_read(path, &back, &loose, err, sizeof(err)), 0);
	assert_int_equal(loose, 1);
	c.tls_pin[0] = c.ca_file[0] = c.ca_fingerprint[0] = '\0';
	assert_int_equal(config_write(path, &c, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(config_read(path, &back, NULL, err, sizeof(err)), 0);
	assert_string_equal(back.tls_pin, "");
	assert_string_equal(back.ca_file, "");
	assert_string_equal(back.ca_fingerprint, "");

	/* A line break would forge another key: refused. */
	snprintf(c.token, sizeof(c.token), "abc\nserver=http://evil");
	assert_int_equal(config_write(path, &c, err, sizeof(err)), -1);
	snprintf(c.token, sizeof(c.token), "abc");
	snprintf(c.ca_file, sizeof(c.ca_file), "/x\nserver=http://evil");
	assert_int_equal(config_write(path, &c, err, sizeof(err)), -1);
}

static void test_formats(void **state)
{
	char path[700], err[256];
	struct cli_config c;
	snprintf(path, sizeof(path), "%s/kv", dir);
	ct_write_file(path, "# comment\n\n  server = http://a:1  \ntoken=\"t1\"\nunknown=ignored\n");
	assert_int_equal(config_read(path, &c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.server, "http://a:1");
	assert_string_equal(c.token, "t1");

	ct_write_file(path, "\n {\"server\":\"http://b:2\",\"token\":\"t2\",\"future\":{\"x\":1}}\n");
	assert_int_equal(config_read(path, &c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.server, "http://b:2");
	assert_string_equal(c.token, "t2");

	/* A missing file is an empty config, not an error. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(config_read(path, &c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.server, "");

	snprintf(path, sizeof(path), "%s/bad", dir);
	ct_write_file(path, "server=http://a\nthis line has no equals\n");
	assert_int_equal(config_read(path, &c, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2: expected key=value"));
	ct_write_file(path, "{\"ca_file\": [\"/x\"]}");
	assert_int_equal(config_read(path, &c, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ca_file must be a string"));
	ct_write_file(path, "{\"server\": 5}");
	assert_int_equal(config_read(path, &c, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "server must be a string"));
	ct_write_file(path, "{\"server\": ");
	assert_int_equal(config_read(path, &c, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1"));
}

static void test_precedence(void **state)
{
	struct cli_config file = {0}, r;
	snprintf(file.server, sizeof(file.server), "http://file:1");
	snprintf(file.token, sizeof(file.token), "file-token");
	snprintf(file.tls_pin, sizeof(file.tls_pin), "sha256//PIN=");
	snprintf(file.ca_file, sizeof(file.ca_file), "/c/ca-file_1.pem");
	snprintf(file.ca_fingerprint, sizeof(file.ca_fingerprint), "sha256:%064d", 1);

	config_resolve(&r, &file, NULL, NULL, NULL, NULL);
	assert_string_equal(r.server, "http://file:1");
	assert_string_equal(r.server_from, "file");
	assert_string_equal(r.token, "file-token");
	assert_string_equal(r.token_from, "file");
	assert_string_equal(r.tls_pin, "sha256//PIN=");
	assert_string_equal(r.ca_file, "/c/ca-file_1.pem");
	assert_string_equal(r.ca_fingerprint, file.ca_fingerprint);

	config_resolve(&r, &file, "http://env:2", "env-token", NULL, NULL);
	assert_string_equal(r.server, "http://env:2");
	assert_string_equal(r.server_from, "env");
	assert_string_equal(r.token, "env-token");
	assert_string_equal(r.token_from, "env");
	assert_string_equal(r.tls_pin, ""); /* the pin and CA were the file server's */
	assert_string_equal(r.ca_file, "");
	assert_string_equal(r.ca_fingerprint, "");
	config_resolve(&r, &file, "http://file:1", NULL, NULL, NULL);
	assert_string_equal(r.ca_file, "/c/ca-file_1.pem"); /* the same server, named again */

	config_resolve(&r, &file, "http://env:2", "env-token", "http://flag:3", "flag-token");
	assert_string_equal(r.server, "http://flag:3");
	assert_string_equal(r.server_from, "flag");
	assert_string_equal(r.token, "flag-token");
	assert_string_equal(r.token_from, "flag");

	/* Empty values do not count as set. */
	config_resolve(&r, &file, "", "", "", "");
	assert_string_equal(r.server_from, "file");
	assert_string_equal(r.token_from, "file");

	config_resolve(&r, NULL, NULL, NULL, NULL, NULL);
	assert_string_equal(r.server, CONFIG_DEFAULT_SERVER);
	assert_string_equal(r.server_from, "default");
	assert_string_equal(r.token, "");
	assert_string_equal(r.token_from, "");

	/* Mixed: each setting on its own. */
	config_resolve(&r, &file, NULL, "env-token", "http://flag:3", NULL);
	assert_string_equal(r.server_from, "flag");
	assert_string_equal(r.token_from, "env");
}

static void test_normalize(void **state)
{
	struct {
		const char *in, *out;
	} good[] = {
		{"http://h:7443", "http://h:7443"},
		{"https://h/", "https://h"},
		{"h:7443", "http://h:7443"},
		{"http://h:7443/base//", "http://h:7443/base"},
		{"10.0.0.1", "http://10.0.0.1"},
		{"[::1]:7443", "http://[::1]:7443"},
	};
	char u[512], err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(u, sizeof(u), "%s", good[i].in);
		assert_int_equal(config_normalize_server(u, sizeof(u), err, sizeof(err)), 0);
		assert_string_equal(u, good[i].out);
	}
	const char *bad[] = {"ftp://h", "http://", "https:///x", "http://h w", "unix://sock"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(u, sizeof(u), "%s", bad[i]);
		if (config_normalize_server(u, sizeof(u), err, sizeof(err)) != -1)
			fail_msg("'%s' was accepted", bad[i]);
	}
	snprintf(u, sizeof(u), "ftp://h");
	config_normalize_server(u, sizeof(u), err, sizeof(err));
	assert_string_equal(err, "server URL 'ftp://h' must start with http:// or https://");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
