/* host_power_ipmi.c - the IPMI power driver: one run of
 * `ipmitool -I lanplus ... chassis power ACTION`, a child process with no
 * shell, killed at the driver's timeout. The password reaches ipmitool in
 * its environment (-E reads IPMI_PASSWORD), never on its command line,
 * which every user of the machine can read in /proc. */
#include "host_power.h"
#include "ipmi_output.h"

#include "run.h"

#include <stdio.h>
#include <string.h>

/* ipmitool waits 1 s for an answer and tries 3 times per step of the
 * session's opening: a BMC that does not answer is known in about 6 s. */
#define IPMI_WAIT_S "1"
#define IPMI_RETRIES "2"

int host_power_ipmi(const struct host_power_driver *d, enum host_power_action action, struct host_power_result *r)
{
	char port[8], cipher[8], bmc[300], pwenv[96], out[4096];
	snprintf(port, sizeof(port), "%d", d->port);
	snprintf(cipher, sizeof(cipher), "%d", d->cipher_suite);
	snprintf(bmc, sizeof(bmc), strchr(d->address, ':') ? "BMC [%s]:%d" : "BMC %s:%d", d->address, d->port);
	snprintf(pwenv, sizeof(pwenv), "IPMI_PASSWORD=%s", d->password);
	/* -v: a refused login then says why (wrong password, unknown user). */
	const char *const argv[] = {"ipmitool", "-I", "lanplus", "-H", d->address, "-p", port, "-U", d->username,
	                            "-E", "-C", cipher, "-N", IPMI_WAIT_S, "-R", IPMI_RETRIES, "-v", "chassis",
	                            "power", host_power_action_name(action), NULL};
	const char *const envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
	                            pwenv, NULL};
	int status = run_capture_env(argv, envp, d->timeout_s * 1000, out, sizeof(out));
	explicit_bzero(pwenv, sizeof(pwenv));
	return ipmi_output_parse(out, status, action, bmc, d->username, d->timeout_s, r);
}
