/* util.c - ids, times and secrets for vdcd. Secrets come from the kernel's
 * random source and are stored only as SHA-256 hashes. */
#include "manager.h"

#include "isotime.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

void mgr_uuid(char out[37])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

void mgr_iso_time(int64_t epoch_s, char out[32])
{
	iso_time(epoch_s, out);
}

void mgr_now_iso(char out[32])
{
	iso_time_now(out);
}

void mgr_sha256_hex(const char *s, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	for (size_t i = 0; i < crypto_hash_sha256_BYTES; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

void mgr_secret(const char *prefix, char *out, size_t n)
{
	unsigned char raw[20];
	randombytes_buf(raw, sizeof(raw));
	size_t o = (size_t)snprintf(out, n, "%s", prefix);
	for (size_t i = 0; i < sizeof(raw) && o + 2 < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%02x", raw[i]);
}

int64_t mgr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
