/* test_ipmi_output.c - ipmi_output_parse as a table: what ipmitool 1.8.19
 * printed (with -v) against openipmi's ipmi_sim and on the wire's
 * failures, and the state or the error vdcd makes of it. */
#include "testutil.h"

#include "ipmi_output.h"

#include <errno.h>

#define CHATTER                                                            \
	"Loading IANA PEN Registry...\n"                                       \
	"Running Get VSO Capabilities my_addr 0x20, transit 0, target 0x20\n" \
	"Invalid completion code received: Invalid command\n"                  \
	"Discovered IPMB address 0x0\n"

struct row {
	const char *name;
	const char *out;
	int status;
	enum host_power_action action;
	int rc;
	enum host_power_state state;
	const char *code;
	const char *message_has; /* a part of the message (NULL: not checked) */
	const char *message_lacks;
};

static const struct row rows[] = {
	{"status on", CHATTER "Chassis Power is on\n", 0, HOST_POWER_STATUS, 0, HOST_POWER_IS_ON, "",
	 "BMC 127.0.0.5:623: power is on", NULL},
	{"status off", CHATTER "Chassis Power is off\n", 0, HOST_POWER_STATUS, 0, HOST_POWER_IS_OFF, "", "power is off",
	 NULL},
	{"status without -v's chatter", "Chassis Power is off\n", 0, HOST_POWER_STATUS, 0, HOST_POWER_IS_OFF, "", NULL,
	 NULL},
	{"on taken", CHATTER "Chassis Power Control: Up/On\n", 0, HOST_POWER_ON, 0, HOST_POWER_UNKNOWN, "",
	 "took power on", NULL},
	{"off taken", CHATTER "Chassis Power Control: Down/Off\n", 0, HOST_POWER_OFF, 0, HOST_POWER_UNKNOWN, "",
	 "took power off", NULL},
	{"cycle taken", CHATTER "Chassis Power Control: Cycle\n", 0, HOST_POWER_CYCLE, 0, HOST_POWER_UNKNOWN, "",
	 "took power cycle", NULL},
	{"an operator's session: the privilege chatter does not matter",
	 "Loading IANA PEN Registry...\nGet HPM.x Capabilities request failed, compcode = d4\n"
	 "Running Get VSO Capabilities my_addr 0x20, transit 0, target 0x20\n"
	 "Invalid completion code received: Insufficient privilege level\nDiscovered IPMB address 0x0\n"
	 "Chassis Power is off\n",
	 0, HOST_POWER_STATUS, 0, HOST_POWER_IS_OFF, "", NULL, NULL},
	{"wrong password", "Loading IANA PEN Registry...\n> RAKP 2 HMAC is invalid\n"
	                   "Error: Unable to establish IPMI v2 / RMCP+ session\n",
	 1, HOST_POWER_OFF, -1, HOST_POWER_UNKNOWN, "bmc_auth_failed",
	 "BMC 127.0.0.5:623 refused the login of user 'admin': wrong password", NULL},
	{"unknown user", "Loading IANA PEN Registry...\nRAKP 2 message indicates an error : unauthorized name\n"
	                 "Error: Unable to establish IPMI v2 / RMCP+ session\n",
	 1, HOST_POWER_STATUS, -1, HOST_POWER_UNKNOWN, "bmc_auth_failed", "it has no user 'admin'", NULL},
	{"a cipher suite the BMC lacks", "Error in open session response message : invalid authentication algorithm\n\n"
	                                 "Error: Unable to establish IPMI v2 / RMCP+ session\n",
	 1, HOST_POWER_STATUS, -1, HOST_POWER_UNKNOWN, "bmc_auth_failed", "set cipher_suite", NULL},
	{"no answer", "Loading IANA PEN Registry...\nGet Auth Capabilities error\n"
	              "Error issuing Get Channel Authentication Capabilities request\n"
	              "Error: Unable to establish IPMI v2 / RMCP+ session\n",
	 1, HOST_POWER_OFF, -1, HOST_POWER_UNKNOWN, "bmc_unreachable", "no answer from BMC 127.0.0.5:623", NULL},
	{"a name that does not resolve", "Address lookup for bmc-7.invalid failed\nCould not open socket!\n"
	                                 "Error: Unable to establish IPMI v2 / RMCP+ session\n",
	 1, HOST_POWER_ON, -1, HOST_POWER_UNKNOWN, "bmc_unreachable", "'bmc-7.invalid' does not resolve", NULL},
	{"killed at the timeout", "Loading IANA PEN Registry...\n", -ETIMEDOUT, HOST_POWER_OFF, -1,
	 HOST_POWER_UNKNOWN, "bmc_timeout", "did not answer within 10 s", "IANA"},
	{"no ipmitool", "", -ENOENT, HOST_POWER_STATUS, -1, HOST_POWER_UNKNOWN, "ipmitool_missing",
	 "apt-get install ipmitool", NULL},
	{"the BMC refuses the order", CHATTER "Set Chassis Power Control to Down/Off failed: Insufficient privilege level\n",
	 1, HOST_POWER_OFF, -1, HOST_POWER_UNKNOWN, "bmc_refused",
	 "BMC 127.0.0.5:623 refused power off: Insufficient privilege level", NULL},
	{"a chassis without power control", CHATTER "Set Chassis Power Control to Up/On failed: Invalid data field in request\n",
	 1, HOST_POWER_ON, -1, HOST_POWER_UNKNOWN, "bmc_refused", "refused power on: Invalid data field in request",
	 NULL},
	{"exit 0 but no state", CHATTER "something else\n", 0, HOST_POWER_STATUS, -1, HOST_POWER_UNKNOWN, "bmc_error",
	 "did not say whether the power is on or off: something else", "IANA"},
	{"exit 0 but no confirmation", CHATTER, 0, HOST_POWER_CYCLE, -1, HOST_POWER_UNKNOWN, "bmc_error",
	 "did not confirm power cycle", NULL},
	{"an unknown failure quotes the last lines, not the chatter",
	 CHATTER "line one\nline two\nline three\nline four\x01\n", 1, HOST_POWER_STATUS, -1, HOST_POWER_UNKNOWN,
	 "bmc_error", "ipmitool exited with status 1 talking to BMC 127.0.0.5:623: line two; line three; line four?",
	 "line one"},
	{"no output at all", NULL, 1, HOST_POWER_STATUS, -1, HOST_POWER_UNKNOWN, "bmc_error", "status 1", NULL},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const struct row *w = &rows[i];
		struct host_power_result r = {.elapsed_ms = 42};
		int rc = ipmi_output_parse(w->out, w->status, w->action, "BMC 127.0.0.5:623", "admin", 10, &r);
		if (rc != w->rc || r.state != w->state || strcmp(r.code, w->code) ||
		    (w->message_has && !strstr(r.message, w->message_has)) ||
		    (w->message_lacks && strstr(r.message, w->message_lacks))) {
			print_error("row '%s': rc %d state %d code '%s' message '%s'\n", w->name, rc, r.state, r.code,
			            r.message);
			fail();
		}
		assert_int_equal(r.elapsed_ms, 42);
	}
}

/* A summary of hostile output stays within the message and printable. */
static void test_long_output(void **state)
{
	char big[20000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5000] = '\n';
	struct host_power_result r;
	assert_int_equal(ipmi_output_parse(big, 1, HOST_POWER_STATUS, "BMC b:1", "u", 10, &r), -1);
	assert_true(strlen(r.message) < sizeof(r.message));
	for (const char *p = r.message; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_long_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
