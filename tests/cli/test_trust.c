/* test_trust.c - the CA fingerprint vdc shows and pins: SHA-256 of the DER
 * of a PEM certificate (the same as openssl's), fingerprints as typed, and
 * where the CA of each server is kept. */
#include "clitest.h"

#include "trust.h"

/* Made with openssl req -x509 (P-256); its fingerprint from
 * openssl x509 -noout -fingerprint -sha256. */
static const char CA_PEM[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBgzCCASmgAwIBAgIUEjGETSMClCuCw/UuAljVt8JKCU8wCgYIKoZIzj0EAwIw\n"
	"FjEUMBIGA1UEAwwLdmRjIHRlc3QgQ0EwIBcNMjYxMTI0MTUxMjU2WhgPMjEyNjEw\n"
	"MzExNTEyNTZaMBYxFDASBgNVBAMMC3ZkYyB0ZXN0IENBMFkwEwYHKoZIzj0CAQYI\n"
	"KoZIzj0DAQcDQgAE+9642Mybm6WCWOUiNFF2vkyNHpMW10jrmeL0icEyomprJIOY\n"
	"CmwV88chdSIfVVCh+0JyfGMkeZ/wBeADekJnJaNTMFEwHQYDVR0OBBYEFCKQe/CF\n"
	"BAQiTYiJ+dzGkfcFFaUDMB8GA1UdIwQYMBaAFCKQe/CFBAQiTYiJ+dzGkfcFFaUD\n"
	"MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgOMP6Z0VmxVswfrx7\n"
	"Zgii/BpavVbAkCEI9i5pCNkKqosCIQDVZx8+PYo5GImeRSnU3rBPrm/Pq/poPJt8\n"
	"Jv7zzE5nnQ==\n"
	"-----END CERTIFICATE-----\n";
#define CA_FP "sha256:d5dc3ac59ef3dbef84da8e74583530895e2fc9b2299113fbbbcd7661141d552d"
#define CA_FP_OPENSSL                                                                              \
	"D5:DC:3A:C5:9E:F3:DB:EF:84:DA:8E:74:58:35:30:89:5E:2F:C9:B2:29:91:13:FB:BB:CD:76:61:14:1D:55:2D"

static void test_fingerprint(void **state)
{
	char fp[TRUST_FP_SIZE], err[256];
	assert_int_equal(trust_pem_fingerprint(CA_PEM, strlen(CA_PEM), fp, err, sizeof(err)), 0);
	assert_string_equal(fp, CA_FP);

	/* Text around the block, CRLF line ends, and a second certificate after
	 * it change nothing: the first block is the CA. */
	char text[4096];
	snprintf(text, sizeof(text), "subject=CN = vdc test CA\r\n%s%s", CA_PEM, CA_PEM);
	assert_int_equal(trust_pem_fingerprint(text, strlen(text), fp, err, sizeof(err)), 0);
	assert_string_equal(fp, CA_FP);
	char crlf[4096];
	size_t o = 0;
	for (const char *p = CA_PEM; *p; p++) {
		if (*p == '\n')
			crlf[o++] = '\r';
		crlf[o++] = *p;
	}
	crlf[o] = '\0';
	assert_int_equal(trust_pem_fingerprint(crlf, o, fp, err, sizeof(err)), 0);
	assert_string_equal(fp, CA_FP);

	/* Broken ones are refused. */
	assert_int_equal(trust_pem_fingerprint("", 0, fp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no PEM certificate"));
	snprintf(text, sizeof(text), "%s", CA_PEM);
	text[100] = '!';
	assert_int_equal(trust_pem_fingerprint(text, strlen(text), fp, err, sizeof(err)), -1);
	assert_string_equal(err, "the PEM certificate block is not valid base64 DER");
	const char *not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
	assert_int_equal(trust_pem_fingerprint(not_der, strlen(not_der), fp, err, sizeof(err)), -1);
	const char *cut = "-----BEGIN CERTIFICATE-----\nMIIBgzCC\n";
	assert_int_equal(trust_pem_fingerprint(cut, strlen(cut), fp, err, sizeof(err)), -1);
	/* Only the length given is read. */
	assert_int_equal(trust_pem_fingerprint(CA_PEM, 60, fp, err, sizeof(err)), -1);
}

static void test_normalize(void **state)
{
	const char *same[] = {CA_FP, CA_FP_OPENSSL, CA_FP + 7, "SHA256:" CA_FP_OPENSSL,
	                      "sha256:D5DC3AC59EF3DBEF84DA8E74583530895E2FC9B2299113FBBBCD7661141D552D"};
	char fp[TRUST_FP_SIZE];
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if (trust_normalize_fingerprint(same[i], fp) != 0)
			fail_msg("'%s' refused", same[i]);
		assert_string_equal(fp, CA_FP);
	}
	const char *bad[] = {"", "sha256:", "sha256:d5dc", CA_FP "00", "md5:" CA_FP_OPENSSL,
	                     "sha256:x5dc3ac59ef3dbef84da8e74583530895e2fc9b2299113fbbbcd7661141d552d",
	                     ":D5:DC:3A:C5:9E:F3:DB:EF:84:DA:8E:74:58:35:30:89:5E:2F:C9:B2:29:91:13:FB:BB:CD:76:61:14:1D:55:2D",
	                     CA_FP_OPENSSL ":", "D5::DC:3A:C5:9E:F3:DB:EF:84:DA:8E:74:58:35:30:89:5E:2F:C9:B2:29:91:13:FB:BB:CD:76:61:14:1D:55:2D",
	                     "sha256:d5dc3ac59ef3dbef84da8e7458353089 5e2fc9b2299113fbbbcd7661141d552d"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (trust_normalize_fingerprint(bad[i], fp) != -1)
			fail_msg("'%s' accepted", bad[i]);
}

static void test_ca_path(void **state)
{
	struct {
		const char *cfg, *server, *path;
	} good[] = {
		{"/home/u/.config/vdc/config", "https://vdcd.example:7443", "/home/u/.config/vdc/ca-vdcd.example_7443.pem"},
		{"/c/config", "https://VDCD.example", "/c/ca-vdcd.example_443.pem"},
		{"/c/config", "https://10.0.0.5:7443/base", "/c/ca-10.0.0.5_7443.pem"},
		{"/c/config", "https://[::1]:7443", "/c/ca-___1__7443.pem"},
		{"/c/config", "https://[fe80::1]", "/c/ca-_fe80__1__443.pem"},
		{"config", "https://h:1", "ca-h_1.pem"},
	};
	char p[1024];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (trust_ca_path(good[i].cfg, good[i].server, p, sizeof(p)) != 0)
			fail_msg("'%s' refused", good[i].server);
		assert_string_equal(p, good[i].path);
	}
	const char *bad[] = {"http://h:7443", "https://", "https://:7443", "https://h:", "https://h:x1",
	                     "https://[::1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (trust_ca_path("/c/config", bad[i], p, sizeof(p)) != -1)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(trust_ca_path("/c/config", "https://h:7443", p, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_ca_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
