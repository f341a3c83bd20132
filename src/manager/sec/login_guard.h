/* login_guard.h - what stands between a password and a token: argon2id
 * (libsodium's crypto_pwhash) run off the loop thread, since one hash takes
 * about 50 ms and the loop serves every request; and throttling of repeated
 * failures by user name and by client address. */
#ifndef VDC_MGR_LOGIN_GUARD_H
#define VDC_MGR_LOGIN_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "access.h"

struct mgr;


int login_guard_init(struct mgr *m);
void login_guard_free(struct mgr *m); /* waits for jobs still running */

/* Recent failures of a key ("user:alice", "addr:10.0.0.5"), decayed. */
int login_failures(struct mgr *m, const char *key);
void login_failed(struct mgr *m, const char *key);
void login_succeeded(struct mgr *m, const char *key);

enum pw_op { PW_VERIFY, PW_HASH };
/* ok: the password matched (PW_VERIFY) or was hashed into hash (PW_HASH). */
typedef void (*pw_done_fn)(struct mgr *m, void *ctx, bool ok, const char *hash);

/* Runs op on a thread after delay_ms and calls done on the loop thread.
 * stored_hash NULL with PW_VERIFY verifies against a dummy hash, so an
 * unknown user costs the same time as a wrong password. -1 when too many
 * jobs run already (the caller answers 429). The password is copied and
 * wiped after use. */
int pw_job_start(struct mgr *m, enum pw_op op, const char *password, const char *stored_hash,
                 unsigned delay_ms, pw_done_fn done, void *ctx);

#endif
