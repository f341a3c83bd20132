/* test_secret_wipe.c - private keys are zeroed before their memory is freed
 * (README: "zeroed in memory when freed"). explicit_bzero is wrapped at link
 * time, so the test sees what was wiped, while it is still allocated, without
 * reading freed memory (ASan-clean). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tls.h"

static const void *wiped_at;
static size_t wiped_len;
static int wiped_zero;

void __real_explicit_bzero(void *p, size_t n);
void __wrap_explicit_bzero(void *p, size_t n);
void __wrap_explicit_bzero(void *p, size_t n)
{
	__real_explicit_bzero(p, n);
	const unsigned char *b = p;
	size_t i = 0;
	while (i < n && b[i] == 0)
		i++;
	wiped_at = p;
	wiped_len = n;
	wiped_zero = i == n;
}

static void t_key_zeroed_when_freed(void **state)
{
	(void)state;
	char *key = NULL, *csr = NULL, err[256];
	assert_int_equal(tls_make_key_csr("wipe-test", &key, &csr, err, sizeof(err)), 0);
	assert_non_null(strstr(key, "PRIVATE KEY"));
	const void *at = key;
	size_t len = strlen(key);
	wiped_at = NULL;
	tls_free_secret(key);
	assert_ptr_equal(wiped_at, at);    /* the key's own buffer */
	assert_int_equal(wiped_len, len);  /* all of it */
	assert_true(wiped_zero);           /* to zeroes */
	free(csr);
}

static void t_ca_key_zeroed_when_freed(void **state)
{
	(void)state;
	char *cert = NULL, *key = NULL, err[256];
	assert_int_equal(tls_make_ca(&cert, &key, err, sizeof(err)), 0);
	const void *at = key;
	size_t len = strlen(key);
	wiped_at = NULL;
	tls_free_secret(key);
	assert_ptr_equal(wiped_at, at);
	assert_int_equal(wiped_len, len);
	assert_true(wiped_zero);
	free(cert);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_key_zeroed_when_freed),
		cmocka_unit_test(t_ca_key_zeroed_when_freed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
