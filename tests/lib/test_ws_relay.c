/* test_ws_relay.c - the WebSocket handshake's pieces: Sec-WebSocket-Accept
 * as RFC 6455 computes it (its own example), keys that are not 16 bytes,
 * and reading the comma-separated lists of Connection and
 * Sec-WebSocket-Protocol (where the console ticket rides). */
#include "testutil.h"

#include "ws_relay.h"

static void test_accept_key(void **state)
{
	char out[29];
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0); /* RFC 6455, 1.3 */
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key(NULL, out), -1);
	assert_int_equal(ws_accept_key("", out), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -1);   /* too short */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZSE=", out), -1); /* 17 bytes */
	assert_int_equal(ws_accept_key("!!!!!!!!!!!!!!!!!!!!!!==", out), -1); /* not base64 */
}

static void test_lists(void **state)
{
	assert_true(ws_header_lists("keep-alive, Upgrade", "upgrade", 1));
	assert_false(ws_header_lists("keep-alive, Upgrade", "upgrade", 0));
	assert_false(ws_header_lists("upgrades", "upgrade", 1));
	assert_false(ws_header_lists(NULL, "upgrade", 1));
	assert_true(ws_header_lists("binary , vdc-ticket.x", "binary", 0));
	assert_false(ws_header_lists("binaryx, vdc-ticket.binary", "binary", 0));
}

static void test_items(void **state)
{
	char t[16];
	assert_int_equal(ws_header_item("binary, vdc-ticket.vdck_abc", "vdc-ticket.", t, sizeof(t)), 0);
	assert_string_equal(t, "vdck_abc");
	assert_int_equal(ws_header_item("vdc-ticket.a1 ,binary", "vdc-ticket.", t, sizeof(t)), 0);
	assert_string_equal(t, "a1");
	assert_int_equal(ws_header_item("binary", "vdc-ticket.", t, sizeof(t)), -1);
	assert_int_equal(ws_header_item(NULL, "vdc-ticket.", t, sizeof(t)), -1);
	/* Too long for the buffer: refused, never cut. */
	assert_int_equal(ws_header_item("vdc-ticket.0123456789abcdefXYZ", "vdc-ticket.", t, sizeof(t)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_items),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
