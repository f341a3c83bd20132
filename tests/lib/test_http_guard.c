/* test_http_guard.c - the checks every request's head goes through before
 * routing, as tables: body framing (request smuggling), %2f and %00 in the
 * raw path, UTF-8 of the decoded path. */
#include "testutil.h"

#include "http_guard.h"

#include <string.h>

static void test_framing(void **state)
{
	static const struct {
		const char *headers[4][2]; /* name, value; NULL name ends */
		unsigned status;
		const char *code;
	} cases[] = {
		{{{NULL}}, 0, NULL},
		{{{"Content-Length", "12"}, {NULL}}, 0, NULL},
		{{{"content-length", "0"}, {"Host", "x"}, {NULL}}, 0, NULL},
		{{{"Transfer-Encoding", "chunked"}, {NULL}}, 0, NULL},
		{{{"transfer-encoding", " Chunked "}, {NULL}}, 0, NULL},
		{{{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}, {NULL}}, 400, "ambiguous_framing"},
		{{{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}, {NULL}}, 400, "ambiguous_framing"},
		{{{"Content-Length", "5"}, {"Content-Length", "5"}, {NULL}}, 400, "ambiguous_framing"},
		{{{"Content-Length", "5"}, {"CONTENT-LENGTH", "7"}, {NULL}}, 400, "ambiguous_framing"},
		{{{"Transfer-Encoding", "gzip"}, {NULL}}, 501, "unsupported_transfer_encoding"},
		{{{"Transfer-Encoding", "identity"}, {NULL}}, 501, "unsupported_transfer_encoding"},
		{{{"Transfer-Encoding", "gzip, chunked"}, {NULL}}, 501, "unsupported_transfer_encoding"},
		{{{"Transfer-Encoding", "chunked, chunked"}, {NULL}}, 501, "unsupported_transfer_encoding"},
		{{{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}, {NULL}}, 501,
		 "unsupported_transfer_encoding"},
		{{{"Transfer-Encoding", "xchunked"}, {NULL}}, 501, "unsupported_transfer_encoding"},
		{{{"Transfer-Encoding", ""}, {NULL}}, 501, "unsupported_transfer_encoding"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_framing f = {0};
		for (int h = 0; h < 4 && cases[i].headers[h][0]; h++)
			http_framing_add(&f, cases[i].headers[h][0], cases[i].headers[h][1]);
		const char *code = NULL;
		char msg[256] = "";
		unsigned st = http_guard_framing(&f, &code, msg, sizeof(msg));
		if (st != cases[i].status)
			fail_msg("case %zu: status %u, want %u (%s)", i, st, cases[i].status, msg);
		if (st) {
			assert_string_equal(code, cases[i].code);
			assert_true(strlen(msg) > 20);
		}
	}
}

static void test_raw_path(void **state)
{
	static const struct {
		const char *uri;
		const char *names; /* in the message; NULL: accepted */
	} cases[] = {
		{"/api/v1/vms/web", NULL},
		{"/api/v1/vms/caf%C3%A9", NULL},
		{"/api/v1/vms/a%20b", NULL},
		{"/api/v1/query?x=a%2fb&y=%00", NULL}, /* the query is not the path */
		{"/api/v1/vms/a%2fb", "%2f"},
		{"/api/v1/vms/a%2Fb", "%2F"},
		{"/api/v1/vms/%2f", "%2f"},
		{"/api/v1/vms/a%00", "%00"},
		{"/api/v1/vms/a%00?x=1", "%00"},
		{"/api/v1/vms/a%2", NULL},  /* cut short: not ours to judge */
		{"/api/v1/vms/a%", NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char msg[160] = "";
		unsigned st = http_guard_raw_path(cases[i].uri, msg, sizeof(msg));
		if ((st != 0) != (cases[i].names != NULL))
			fail_msg("%s: status %u", cases[i].uri, st);
		if (cases[i].names && !strstr(msg, cases[i].names))
			fail_msg("%s: the message does not name %s: %s", cases[i].uri, cases[i].names, msg);
	}
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		int valid;
	} cases[] = {
		{"", 1},
		{"web-1", 1},
		{"caf\xc3\xa9", 1},
		{"\xe2\x82\xac", 1},         /* U+20AC */
		{"\xf0\x9f\x98\x80", 1},     /* U+1F600 */
		{"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
		{"\xff", 0},
		{"a\x80", 0},                /* a lone continuation byte */
		{"\xc0\xaf", 0},             /* overlong '/' */
		{"\xc1\xbf", 0},
		{"\xe0\x80\xaf", 0},         /* overlong, 3 bytes */
		{"\xf0\x80\x80\xaf", 0},     /* overlong, 4 bytes */
		{"\xed\xa0\x80", 0},         /* U+D800, a surrogate */
		{"\xf4\x90\x80\x80", 0},     /* past U+10FFFF */
		{"\xf5\x80\x80\x80", 0},
		{"\xe2\x82", 0},             /* cut short */
		{"\xe2\x82x", 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (http_utf8_valid(cases[i].s) != cases[i].valid)
			fail_msg("case %zu: want %s", i, cases[i].valid ? "valid" : "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_raw_path),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
