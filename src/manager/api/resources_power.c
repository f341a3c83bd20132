/* resources_power.c - the body that sets a host's power driver, parsed
 * strictly (resources.h). Every value ends on ipmitool's command line (as
 * separate arguments: no shell), so none may start with '-' and read as an
 * option, and the address is an IP literal or a host name, nothing else. */
#include "resources.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* A DNS name: labels of letters, digits and '-', not starting or ending
 * with '-', of 1 to 63 characters, at most 253 in all. */
static bool host_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	const char *label = s;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t len = (size_t)(p - label);
			if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
				return false;
			if (*p == '\0')
				return true;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-') {
			return false;
		}
	}
}

static bool address_ok(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1 || host_name_ok(s);
}

/* Printable ASCII, spaces included. */
static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

int resource_parse_power_driver(const json_t *body, json_t **power, const char **password, struct jv_err *err)
{
	static const char *const keys[] = {"driver", "address", "port", "username", "password", "cipher_suite",
	                                   "timeout_s", NULL};
	const char *driver = NULL, *address = NULL, *user = NULL, *pw = NULL;
	int64_t port = 623, cipher = 3, timeout = 10;
	*power = NULL;
	*password = NULL;
	if (!json_is_object(body))
		return jv_fail(err, "body", "must be a JSON object");
	if (jv_only_keys(body, "", keys, err) < 0 || jv_string(body, "", "driver", true, 15, &driver, err) < 0)
		return -1;
	if (strcmp(driver, "ipmi") != 0)
		return jv_fail(err, "driver", "'%s' is not a power driver vdcd has; it has: ipmi", driver);
	if (jv_string(body, "", "address", true, 253, &address, err) < 0 ||
	    jv_int(body, "", "port", false, 1, 65535, &port, err) < 0 ||
	    jv_string(body, "", "username", true, 16, &user, err) < 0 ||
	    jv_string(body, "", "password", false, 20, &pw, err) < 0 ||
	    jv_int(body, "", "cipher_suite", false, 0, 17, &cipher, err) < 0 ||
	    jv_int(body, "", "timeout_s", false, 2, 60, &timeout, err) < 0)
		return -1;
	if (address[0] == '-')
		return jv_fail(err, "address", "'%s' starts with '-': give the BMC's IP address or host name", address);
	if (!address_ok(address))
		return jv_fail(err, "address", "'%s' is not an IP address or a host name", address);
	if (!user[0] || user[0] == '-' || !printable(user))
		return jv_fail(err, "username", "must be 1 to 16 printable characters, not starting with '-'");
	/* A password may start with '-' (it never is an argument), but it is
	 * typed: printable ASCII. */
	if (pw && (!pw[0] || !printable(pw)))
		return jv_fail(err, "password", "must be 1 to 20 printable ASCII characters (IPMI 2.0's limit)");
	*power = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "driver", driver, "address", address, "port",
	                   (json_int_t)port, "username", user, "cipher_suite", (json_int_t)cipher, "timeout_s",
	                   (json_int_t)timeout);
	if (!*power)
		return jv_fail(err, "body", "out of memory");
	*password = pw;
	return 0;
}
