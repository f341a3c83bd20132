/* test_apierr.c - HTTP status to exit code, and the words of each error:
 * what went wrong, which flag, and what to do next. */
#include "clitest.h"

#include "apierr.h"
#include "args.h"

static void test_exit_codes(void **state)
{
	const struct {
		long status;
		int code;
	} cases[] = {
		{200, CLI_OK}, {201, CLI_OK}, {202, CLI_OK}, {204, CLI_OK},
		{400, CLI_USAGE}, {413, CLI_USAGE}, {422, CLI_USAGE},
		{401, CLI_AUTH}, {403, CLI_AUTH},
		{404, CLI_NOT_FOUND},
		{409, CLI_CONFLICT}, {412, CLI_CONFLICT}, {423, CLI_CONFLICT},
		{405, CLI_FAIL}, {429, CLI_FAIL}, {500, CLI_FAIL}, {502, CLI_FAIL}, {503, CLI_FAIL},
		{0, CLI_UNREACHABLE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (apierr_exit_code(cases[i].status) != cases[i].code)
			fail_msg("HTTP %ld: exit %d, want %d", cases[i].status,
			         apierr_exit_code(cases[i].status), cases[i].code);
	/* The documented numbers themselves. */
	assert_int_equal(CLI_FAIL, 1);
	assert_int_equal(CLI_USAGE, 2);
	assert_int_equal(CLI_NOT_FOUND, 3);
	assert_int_equal(CLI_CONFLICT, 4);
	assert_int_equal(CLI_AUTH, 5);
	assert_int_equal(CLI_UNREACHABLE, 6);
}

static const char *describe(const struct apierr_ctx *x, long status, const char *body, int want)
{
	static char buf[4096];
	int code = apierr_describe(x, status, body, buf, sizeof(buf));
	if (code != want)
		fail_msg("HTTP %ld: exit %d, want %d (%s)", status, code, want, buf);
	return buf;
}

/* An expired token is told apart from a refused one, with what to do per
 * where the token came from. */
static void test_token_expired(void **state)
{
	const char *body = "{\"error\":{\"code\":\"token_expired\",\"message\":\"the token expired at "
	                   "2024-01-01T00:00:00Z; sign in again with 'vdc login'\"}}";
	struct {
		const char *from, *advice;
	} cases[] = {
		{"file", "the saved login has expired: run 'vdc login' again"},
		{"env", "the token in VDC_TOKEN has expired: set a new one, or unset it and run 'vdc login'"},
		{"flag", "the token given with --token has expired: make a new one ('vdc token create')"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct apierr_ctx x = {"http://h:7443", NULL, NULL, cases[i].from, NULL};
		char want[512];
		snprintf(want, sizeof(want),
		         "the token expired at 2024-01-01T00:00:00Z; sign in again with 'vdc login'\n%s",
		         cases[i].advice);
		assert_string_equal(describe(&x, 401, body, 5), want);
	}
}

static void test_unauthorized(void **state)
{
	const char *body = "{\"error\":{\"code\":\"unauthorized\",\"message\":\"missing or bad token\"}}";
	struct apierr_ctx x = {"http://h:7443", NULL, NULL, "", NULL};
	assert_string_equal(describe(&x, 401, body, 5),
	                    "not authorized by http://h:7443: missing or bad token\n"
	                    "no token is set: run 'vdc login' (or set VDC_TOKEN)");
	x.token_from = "file";
	assert_non_null(strstr(describe(&x, 401, body, 5), "the saved token was refused: run 'vdc login' again"));
	x.token_from = "env";
	assert_non_null(strstr(describe(&x, 401, body, 5), "the token in VDC_TOKEN was refused"));
	x.token_from = "flag";
	assert_non_null(strstr(describe(&x, 401, body, 5), "--token was refused"));
	x.token_from = "input";
	assert_non_null(strstr(describe(&x, 401, body, 5), "check it and try again"));
	x.token_from = "password";
	assert_string_equal(describe(&x, 401, "{\"error\":{\"code\":\"invalid_credentials\","
	                                      "\"message\":\"unknown user or wrong password\"}}", 5),
	                    "not authorized by http://h:7443: unknown user or wrong password\n"
	                    "check the user name and password, and try again");
	assert_string_equal(describe(&x, 429, "{\"error\":{\"code\":\"too_many_attempts\","
	                                      "\"message\":\"too many failed logins for alice\"}}", 1),
	                    "too many failed logins for alice\n"
	                    "vdcd slows down repeated attempts: wait a while, then try again");
	assert_non_null(strstr(describe(&x, 403, body, 5), "forbidden: missing or bad token"));
}

static void test_not_found_and_conflict(void **state)
{
	struct apierr_ctx x = {"http://h", "vm", NULL, "file", NULL};
	assert_string_equal(describe(&x, 404, "{\"error\":{\"code\":\"not_found\",\"message\":"
	                                      "\"no vm has the id or name 'web9'\"}}", 3),
	                    "no vm has the id or name 'web9' (see 'vdc vm list')");
	assert_string_equal(describe(&x, 409, "{\"error\":{\"code\":\"busy\",\"message\":"
	                                      "\"VM 'web1' is creating; wait for its task to finish\"}}", 4),
	                    "VM 'web1' is creating; wait for its task to finish");
}

/* No host fits: every host's verdict follows the summary. */
static void test_no_host(void **state)
{
	struct apierr_ctx x = {"http://h", "vm", NULL, "file", NULL};
	const char *body =
	    "{\"error\":{\"code\":\"no_host\",\"message\":\"no host fits: 0 of 2 hosts eligible\","
	    "\"placement\":{\"host\":null,\"summary\":\"no host fits\",\"hosts\":["
	    "{\"host\":\"h1\",\"eligible\":false,\"filter\":\"memory\",\"reason\":\"needs 4096 MiB, 1024 free\"},"
	    "{\"host\":\"h2\",\"eligible\":false,\"filter\":\"state\",\"reason\":\"host is in maintenance\"}]}}}";
	assert_string_equal(describe(&x, 409, body, 4),
	                    "no host fits: 0 of 2 hosts eligible\n"
	                    "hosts considered:\n"
	                    "  h1: rejected by memory: needs 4096 MiB, 1024 free\n"
	                    "  h2: rejected by state: host is in maintenance");
}

/* No hosts at all: no empty list under the summary. */
static void test_no_host_without_hosts(void **state)
{
	struct apierr_ctx x = {"http://h", "vm", NULL, "file", NULL};
	assert_string_equal(describe(&x, 409, "{\"error\":{\"code\":\"no_host\",\"message\":"
	                                      "\"no host has joined yet\"}}", 4),
	                    "no host has joined yet");
}

/* A 400 names the flag its field came from. */
static void test_invalid_field(void **state)
{
	static const struct opt opts[] = {
		{"memory-mib", 0, OPT_INT, "N", "", "memory_mib", 0, NULL},
		{"network", 0, OPT_LIST, "NET", "", "networks", 0, NULL},
		{0},
	};
	const struct opt *const tables[] = {opts, NULL};
	struct args a;
	char err[64];
	assert_int_equal(args_parse(&a, tables, 0, NULL, err, sizeof(err)), 0);
	struct apierr_ctx x = {"http://h", "vm", &a, "file", NULL};
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_request\",\"field\":"
	                                      "\"memory_mib\",\"message\":\"memory_mib: must be at least 16\"}}", 2),
	                    "invalid --memory-mib: must be at least 16");
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_request\",\"field\":"
	                                      "\"networks[1]\",\"message\":\"networks[1]: no network named 'x'\"}}", 2),
	                    "invalid --network: no network named 'x'");
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_request\",\"field\":"
	                                      "\"name\",\"message\":\"name: 'a b' is not a valid name\"}}", 2),
	                    "invalid NAME: 'a b' is not a valid name");
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_request\",\"field\":"
	                                      "\"password\",\"message\":\"password: too short\"}}", 2),
	                    "invalid password: too short");
	/* A field no flag sets (from a -f body): named as a field. */
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_request\",\"field\":"
	                                      "\"color\",\"message\":\"color: unknown field\"}}", 2),
	                    "invalid field 'color': unknown field");
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_json\",\"message\":"
	                                      "\"line 1: bad\"}}", 2),
	                    "invalid request: line 1: bad");
	args_free(&a);
}

/* A size or duration vdcd refuses is shown as typed, with what vdcd got
 * (its message counts in its own unit). */
static void test_invalid_quantity(void **state)
{
	static const struct opt opts[] = {
		{"ttl", 0, OPT_DURATION, "DURATION", "", "ttl_s", 0, NULL},
		{"memory-mib", 0, OPT_SIZE, "SIZE", "", "memory_mib", 0, NULL},
		{0},
	};
	const struct opt *const tables[] = {opts, NULL};
	char *argv[] = {"--ttl", "5s", "--memory-mib", "2G", NULL};
	struct args a;
	char err[64];
	assert_int_equal(args_parse(&a, tables, 4, argv, err, sizeof(err)), 0);
	struct apierr_ctx x = {"http://h", "token", &a, "file", NULL};
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_request\",\"field\":"
	                                      "\"ttl_s\",\"message\":\"ttl_s: must be from 60 to 100\"}}", 2),
	                    "invalid --ttl 5s (5 s): must be from 60 to 100");
	assert_string_equal(describe(&x, 400, "{\"error\":{\"code\":\"invalid_request\",\"field\":"
	                                      "\"memory_mib\",\"message\":\"memory_mib: at most 1024\"}}", 2),
	                    "invalid --memory-mib 2G (2048 MiB): at most 1024");
	args_free(&a);
}

static void test_other_replies(void **state)
{
	struct apierr_ctx x = {"http://h", NULL, NULL, "file", NULL};
	assert_string_equal(describe(&x, 500, "{\"error\":{\"code\":\"internal\",\"message\":\"store is down\"}}", 1),
	                    "vdcd failed (HTTP 500, internal): store is down\nsee vdcd's log; retrying may help");
	/* Not vdcd's format (a proxy's page): its first line. */
	assert_string_equal(describe(&x, 502, "<html>Bad Gateway</html>\n<body>", 1),
	                    "vdcd failed (HTTP 502): <html>Bad Gateway</html>\nsee vdcd's log; retrying may help");
	assert_string_equal(describe(&x, 418, "", 1), "HTTP 418: no details given");
	assert_string_equal(describe(&x, 405, NULL, 1), "HTTP 405: no details given");
	/* Escapes in a message do not reach the terminal. */
	assert_string_equal(describe(&x, 409, "{\"error\":{\"message\":\"a\\u001b[2Jb\"}}", 4), "a?[2Jb");
}

static void test_unreachable(void **state)
{
	struct apierr_ctx x = {"http://127.0.0.1:7443", NULL, NULL, "", NULL};
	char buf[1024];
	assert_int_equal(apierr_unreachable(&x, "Failed to connect to 127.0.0.1 port 7443: Connection refused",
	                                    buf, sizeof(buf)), 6);
	assert_string_equal(buf, "cannot reach vdcd at http://127.0.0.1:7443: Failed to connect to 127.0.0.1 "
	                         "port 7443: Connection refused\n"
	                         "is vdcd running at http://127.0.0.1:7443? (set VDC_SERVER or run "
	                         "'vdc login --server URL')");
}

/* A certificate that does not verify is not "is vdcd running?". */
static void test_tls_failures(void **state)
{
	struct apierr_ctx x = {"https://h:7443", NULL, NULL, "file", NULL};
	char buf[1024];
	assert_int_equal(apierr_unreachable(&x, "SSL certificate problem: self-signed certificate in "
	                                    "certificate chain", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "cannot reach vdcd at https://h:7443 securely: SSL certificate problem: "
	                         "self-signed certificate in certificate chain\n"
	                         "its CA is not trusted here yet: run 'vdc login --server "
	                         "https://h:7443' to check its fingerprint and trust it");
	x.ca_file = "/c/ca-h_7443.pem";
	apierr_unreachable(&x, "SSL certificate problem: unable to get local issuer certificate", buf,
	                   sizeof(buf));
	assert_non_null(strstr(buf, "\nits certificate does not verify with the CA trusted at login "
	                            "(/c/ca-h_7443.pem): someone may be in the way, or vdcd's CA "
	                            "changed; run 'vdc login' to check"));
	apierr_unreachable(&x, "SSL: no alternative certificate subject name matches target host "
	                   "name 'h'", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nvdcd's certificate is not made for this name"));
}

/* A small buffer cuts the message, never overruns. */
static void test_small_buffer(void **state)
{
	struct apierr_ctx x = {"http://h", "vm", NULL, "", NULL};
	char buf[16];
	assert_int_equal(apierr_describe(&x, 401, "{\"error\":{\"message\":\"a long message here\"}}", buf,
	                                 sizeof(buf)), 5);
	assert_int_equal(strlen(buf), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_token_expired),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_not_found_and_conflict),
		cmocka_unit_test(test_no_host),
		cmocka_unit_test(test_no_host_without_hosts),
		cmocka_unit_test(test_invalid_field),
		cmocka_unit_test(test_invalid_quantity),
		cmocka_unit_test(test_other_replies),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_tls_failures),
		cmocka_unit_test(test_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
