/* ipmi_output.h - what ipmitool said, understood: pure, so that each
 * message a BMC or ipmitool gives is pinned by a table test. */
#ifndef VDC_IPMI_OUTPUT_H
#define VDC_IPMI_OUTPUT_H

#include "host_power.h"

/* One run of `ipmitool ... chassis power ACTION` (out: its output, stdout
 * and stderr together; status: run_capture_env's answer: an exit status,
 * -ETIMEDOUT or -errno) into r: the state it reported, or the error in
 * words naming bmc ("BMC 10.0.0.5:623"), user and timeout_s. 0 when the
 * order was taken (status: when the state was read), else -1 with r->code
 * and r->message. r->elapsed_ms is left as it is. */
int ipmi_output_parse(const char *out, int status, enum host_power_action action, const char *bmc,
                      const char *user, int timeout_s, struct host_power_result *r);

#endif
