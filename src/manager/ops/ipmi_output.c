/* ipmi_output.c - ipmitool's output for a chassis power command, turned
 * into a power state or an error that says what to do. ipmitool runs with
 * -v so that a refused login says why (a wrong password is "RAKP 2 HMAC is
 * invalid", an unknown user "unauthorized name"); the chatter -v adds is
 * dropped from what an error quotes. */
#include "ipmi_output.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Lines -v prints on every run, which say nothing about an error. */
static const char *const chatter[] = {
	"Loading IANA PEN Registry",
	"Running Get VSO Capabilities",
	"Invalid completion code received: Invalid command",
	"Discovered IPMB address",
	"Get HPM.x Capabilities request failed",
	NULL,
};

static bool is_chatter(const char *line, size_t n)
{
	for (int i = 0; chatter[i]; i++) {
		size_t k = strlen(chatter[i]);
		if (n >= k && !strncmp(line, chatter[i], k))
			return true;
	}
	return false;
}

/* The last few lines of out that are not chatter, joined by "; ", printable
 * ASCII only, at most n-1 bytes. */
static void summarize(const char *out, char *buf, size_t n)
{
	const char *lines[3];
	size_t lens[3];
	int count = 0;
	for (const char *p = out; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len && !is_chatter(p, len)) {
			if (count == 3) {
				memmove(lines, lines + 1, 2 * sizeof(lines[0]));
				memmove(lens, lens + 1, 2 * sizeof(lens[0]));
				count = 2;
			}
			lines[count] = p;
			lens[count++] = len;
		}
		p = e ? e + 1 : p + strlen(p);
	}
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < count && o + 1 < n; i++) {
		if (i && o + 3 < n) {
			memcpy(buf + o, "; ", 2);
			o += 2;
		}
		for (size_t k = 0; k < lens[i] && o + 1 < n; k++) {
			unsigned char c = (unsigned char)lines[i][k];
			buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
	}
	buf[o] = '\0';
}

static int fail(struct host_power_result *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct host_power_result *r, const char *code, const char *fmt, ...)
{
	snprintf(r->code, sizeof(r->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* The rest of the line after needle in out, trimmed, into buf. */
static bool line_after(const char *out, const char *needle, char *buf, size_t n)
{
	const char *p = strstr(out, needle);
	if (!p)
		return false;
	p += strlen(needle);
	while (*p == ' ')
		p++;
	size_t len = strcspn(p, "\r\n");
	snprintf(buf, n, "%.*s", (int)len, p);
	return true;
}

int ipmi_output_parse(const char *out, int status, enum host_power_action action, const char *bmc,
                      const char *user, int timeout_s, struct host_power_result *r)
{
	r->state = HOST_POWER_UNKNOWN;
	r->code[0] = r->message[0] = '\0';
	out = out ? out : "";
	char what[200];
	summarize(out, what, sizeof(what));
	if (status == -ETIMEDOUT)
		return fail(r, "bmc_timeout",
		            "%s did not answer within %d s (ipmitool was stopped): check that the address and port are the "
		            "BMC's and that vdcd's machine reaches it over UDP%s%s", bmc, timeout_s, what[0] ? "; it said: " : "",
		            what);
	if (status == -ENOENT)
		return fail(r, "ipmitool_missing",
		            "ipmitool is not installed on vdcd's machine (on Debian: apt-get install ipmitool)");
	if (status < 0)
		return fail(r, "bmc_error", "cannot run ipmitool: %s", strerror(-status));
	if (strstr(out, "RAKP 2 HMAC is invalid"))
		return fail(r, "bmc_auth_failed", "%s refused the login of user '%s': wrong password", bmc, user);
	if (strstr(out, "unauthorized name"))
		return fail(r, "bmc_auth_failed", "%s refused the login: it has no user '%s' (or that user is disabled)",
		            bmc, user);
	if (strstr(out, "invalid authentication algorithm") || strstr(out, "invalid integrity algorithm") ||
	    strstr(out, "invalid confidentiality algorithm"))
		return fail(r, "bmc_auth_failed",
		            "%s does not offer the driver's cipher suite; set cipher_suite to one it offers (17 on many "
		            "newer BMCs, 3 on most)", bmc);
	if (strstr(out, "unauthorized role or privilege") || strstr(out, "insufficient resources for session"))
		return fail(r, "bmc_auth_failed", "%s refused a session to user '%s': %s", bmc, user, what);
	char host[256];
	if (line_after(out, "Address lookup for", host, sizeof(host))) {
		char *sp = strstr(host, " failed");
		if (sp)
			*sp = '\0';
		return fail(r, "bmc_unreachable", "the BMC's address '%s' does not resolve to an address", host);
	}
	char why[200];
	const char *verb = action == HOST_POWER_ON ? "on" : action == HOST_POWER_OFF ? "off" : "cycle";
	if (line_after(out, " failed: ", why, sizeof(why)) && strstr(out, "Set Chassis Power Control"))
		return fail(r, "bmc_refused", "%s refused power %s: %s", bmc, verb, why);
	if (strstr(out, "Get Auth Capabilities error") || strstr(out, "No response from remote controller") ||
	    strstr(out, "Unable to establish IPMI"))
		return fail(r, "bmc_unreachable",
		            "no answer from %s: check that the address and port are the BMC's, that it is powered and on "
		            "the network, and that vdcd's machine reaches it over UDP", bmc);
	const char *is = strstr(out, "Chassis Power is ");
	if (is) {
		is += strlen("Chassis Power is ");
		r->state = !strncmp(is, "on", 2) ? HOST_POWER_IS_ON : !strncmp(is, "off", 3) ? HOST_POWER_IS_OFF
		                                                                              : HOST_POWER_UNKNOWN;
	}
	if (status != 0)
		return fail(r, "bmc_error", "ipmitool exited with status %d talking to %s%s%s", status, bmc,
		            what[0] ? ": " : "", what);
	if (action == HOST_POWER_STATUS) {
		if (r->state == HOST_POWER_UNKNOWN)
			return fail(r, "bmc_error", "%s did not say whether the power is on or off%s%s", bmc,
			            what[0] ? ": " : "", what);
		snprintf(r->message, sizeof(r->message), "%s: power is %s", bmc, r->state == HOST_POWER_IS_ON ? "on" : "off");
		return 0;
	}
	if (!strstr(out, "Chassis Power Control:"))
		return fail(r, "bmc_error", "%s did not confirm power %s%s%s", bmc, verb, what[0] ? ": " : "", what);
	snprintf(r->message, sizeof(r->message), "%s took power %s", bmc, verb);
	return 0;
}
