/* test_http_tls.c - the REST server over HTTPS: a real listener on
 * 127.0.0.1:0 under the loop in a thread, libcurl (OpenSSL) as the client.
 * Covers client certificates asked for but optional (vdcd), demanded with
 * one CN (the agent), refused from another CA, plain HTTP refused on the
 * HTTPS port, and keep-alive; and the agent's own client (http_client.c)
 * over TLS: pinned, with a client certificate, and a wrong pin. */
#include "testutil.h"

#include "http.h"
#include "http_client.h"
#include "loop.h"
#include "tls.h"

#include <curl/curl.h>
#include <pthread.h>
#include <unistd.h>

#define TOKEN "s3cret-token"

static struct {
	char *ca, *ca_key, *chain, *srv_key;
	char *vdcd, *vdcd_key;     /* client cert CN vdcd */
	char *host, *host_key;     /* client cert CN host-1 */
	char *rogue, *rogue_key;   /* CN vdcd, from another CA */
	char *other_ca, *other_ca_key;
} P;

static struct {
	struct loop *loop;
	struct http_server *srv;
	pthread_t thread;
	int stop_pipe[2];
	struct loop_watch *stop_watch;
	int port;
} S;

static void issue(const char *ca, const char *ca_key, const char *cn, int server, char **cert,
                  char **key)
{
	static const char *const sans[] = {"127.0.0.1", NULL};
	char *csr, err[256];
	assert_int_equal(tls_make_key_csr(cn, key, &csr, err, sizeof(err)), 0);
	struct tls_leaf leaf = {.cn = cn, .sans = sans, .server_auth = server, .client_auth = 1,
	                        .days = 365};
	assert_int_equal(tls_issue(ca, ca_key, csr, &leaf, cert, NULL, err, sizeof(err)), 0);
	free(csr);
}

static void h_whoami(struct http_req *req)
{
	char cn[128] = "", fp[TLS_FP_LEN] = "";
	int v = http_peer_cert(req, cn, sizeof(cn), fp);
	http_reply_json(req, 200, json_pack("{s:b, s:s, s:s}", "verified", v, "cn", cn, "fp", fp));
}

static void h_health(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static const struct http_route routes[] = {
	{"GET", "/whoami", h_whoami, 0, 0},
	{"GET", "/healthz", h_health, 1, 0},
};

static void on_stop(void *ctx, uint32_t events) { loop_stop(ctx); }
static void *loop_thread(void *arg)
{
	loop_run(arg);
	return NULL;
}

static int server_up(int require, const char *cn)
{
	char err[256];
	if (!P.ca) {
		assert_int_equal(tls_make_ca(&P.ca, &P.ca_key, err, sizeof(err)), 0);
		assert_int_equal(tls_make_ca(&P.other_ca, &P.other_ca_key, err, sizeof(err)), 0);
		char *srv;
		issue(P.ca, P.ca_key, "vdcd", 1, &srv, &P.srv_key);
		assert_true(asprintf(&P.chain, "%s%s", srv, P.ca) > 0);
		free(srv);
		issue(P.ca, P.ca_key, "vdcd", 0, &P.vdcd, &P.vdcd_key);
		issue(P.ca, P.ca_key, "host-1", 0, &P.host, &P.host_key);
		issue(P.other_ca, P.other_ca_key, "vdcd", 0, &P.rogue, &P.rogue_key);
	}
	curl_global_init(CURL_GLOBAL_ALL);
	S.loop = loop_new();
	struct http_config cfg = {.listen = "127.0.0.1:0", .token = TOKEN, .max_body = 1024,
	                          .tls_cert = P.chain, .tls_key = P.srv_key, .tls_trust = P.ca,
	                          .require_client_cert = require, .client_cn = cn};
	S.srv = http_server_start(&cfg, routes, ARRAY_LEN(routes), S.loop, err, sizeof(err));
	if (!S.srv)
		fail_msg("http_server_start: %s", err);
	S.port = http_server_port(S.srv);
	assert_true(http_server_tls(S.srv));
	assert_int_equal(pipe(S.stop_pipe), 0);
	S.stop_watch = loop_watch_fd(S.loop, S.stop_pipe[0], EPOLLIN, on_stop, S.loop);
	assert_int_equal(pthread_create(&S.thread, NULL, loop_thread, S.loop), 0);
	return 0;
}

static int up_optional(void **state) { return server_up(0, NULL); }
static int up_required(void **state) { return server_up(1, "vdcd"); }

static int server_down(void **state)
{
	assert_int_equal(write(S.stop_pipe[1], "x", 1), 1);
	pthread_join(S.thread, NULL);
	http_server_stop(S.srv);
	loop_unwatch(S.loop, S.stop_watch);
	loop_free(S.loop);
	close(S.stop_pipe[0]);
	close(S.stop_pipe[1]);
	curl_global_cleanup();
	return 0;
}

static int free_pki(void **state)
{
	server_down(state);
	free(P.ca);
	free(P.chain);
	free(P.vdcd);
	free(P.host);
	free(P.rogue);
	free(P.other_ca);
	tls_free_secret(P.ca_key);
	tls_free_secret(P.srv_key);
	tls_free_secret(P.vdcd_key);
	tls_free_secret(P.host_key);
	tls_free_secret(P.rogue_key);
	tls_free_secret(P.other_ca_key);
	return 0;
}

struct resp {
	long status;
	json_t *json;
	CURLcode rc;
	long connects;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	json_t **j = ctx;
	*j = json_loadb(p, size * n, 0, NULL);
	return size * n;
}

static void blob(CURL *c, CURLoption opt, const char *pem)
{
	struct curl_blob b = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
	curl_easy_setopt(c, opt, &b);
}

/* GET path on a handle (kept by the caller for keep-alive), with the
 * given client certificate (NULL: none). */
static struct resp get(CURL *c, const char *scheme, const char *path, const char *cert,
                       const char *key)
{
	struct resp r = {0};
	char url[256];
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", scheme, S.port, path);
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.json);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	blob(c, CURLOPT_CAINFO_BLOB, P.ca);
	if (cert) {
		blob(c, CURLOPT_SSLCERT_BLOB, cert);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		blob(c, CURLOPT_SSLKEY_BLOB, key);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	r.rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r.connects);
	curl_slist_free_all(h);
	return r;
}

static struct resp get1(const char *path, const char *cert, const char *key)
{
	CURL *c = curl_easy_init();
	struct resp r = get(c, "https", path, cert, key);
	curl_easy_cleanup(c);
	return r;
}

static const char *jstr(struct resp *r, const char *k)
{
	return json_string_value(json_object_get(r->json, k));
}

static void test_optional_client_cert(void **state)
{
	struct resp r = get1("/whoami", NULL, NULL);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "verified")));
	json_decref(r.json);

	r = get1("/whoami", P.host, P.host_key);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "verified")));
	assert_string_equal(jstr(&r, "cn"), "host-1");
	char fp[TLS_FP_LEN];
	tls_fingerprint_pem(P.host, fp);
	assert_string_equal(jstr(&r, "fp"), fp);
	json_decref(r.json);

	/* Another CA's certificate gets through TLS but is not "verified". */
	r = get1("/whoami", P.rogue, P.rogue_key);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "verified")));
	json_decref(r.json);
}

static void test_plain_http_refused(void **state)
{
	CURL *c = curl_easy_init();
	struct resp r = get(c, "http", "/healthz", NULL, NULL);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_true(r.status == 0 || r.status >= 400);
	json_decref(r.json);
	curl_easy_cleanup(c);
}

static void test_keep_alive(void **state)
{
	CURL *c = curl_easy_init();
	struct resp r = get(c, "https", "/whoami", P.host, P.host_key);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.connects, 1);
	json_decref(r.json);
	for (int i = 0; i < 3; i++) {
		r = get(c, "https", "/whoami", P.host, P.host_key);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.connects, 0); /* the same connection */
		assert_string_equal(jstr(&r, "cn"), "host-1");
		json_decref(r.json);
	}
	curl_easy_cleanup(c);
}

/* ---- the loop's own client (the agent's) ---- */

struct hc_result {
	struct loop *loop;
	int status;
	char *body;
};

static void hc_done(void *ctx, int status, const char *body)
{
	struct hc_result *r = ctx;
	r->status = status;
	r->body = strdup(body);
	loop_stop(r->loop);
}

static struct hc_result hc_get(const char *scheme, const char *path, struct tls_client *tc)
{
	struct hc_result r = {.loop = loop_new()};
	char url[128];
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", scheme, S.port, path);
	assert_non_null(hc_request(r.loop, "GET", url, tc, TOKEN, NULL, 5000, hc_done, &r));
	loop_run(r.loop);
	loop_free(r.loop);
	return r;
}

static void test_loop_client(void **state)
{
	char fp[TLS_FP_LEN], wrong[TLS_FP_LEN], err[256];
	tls_fingerprint_pem(P.ca, fp);
	tls_fingerprint_pem(P.other_ca, wrong);
	struct tls_client *pinned = tls_client_new(NULL, NULL, NULL, fp, err, sizeof(err));
	struct hc_result r = hc_get("https", "/whoami", pinned);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"verified\":false"));
	free(r.body);
	assert_string_equal(tls_client_anchor(pinned), P.ca);
	tls_client_free(pinned);

	struct tls_client *mtls = tls_client_new(P.host, P.host_key, P.ca, NULL, err, sizeof(err));
	r = hc_get("https", "/whoami", mtls);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"cn\":\"host-1\""));
	free(r.body);
	tls_client_free(mtls);

	struct tls_client *bad = tls_client_new(NULL, NULL, NULL, wrong, err, sizeof(err));
	r = hc_get("https", "/whoami", bad);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.body, "does not match --manager-ca-fingerprint"));
	const char *pin, *presented = tls_client_mismatch(bad, &pin);
	assert_string_equal(presented, fp);
	assert_string_equal(pin, wrong);
	free(r.body);

	/* Plain HTTP to the HTTPS port gets no answer; https needs a client. */
	r = hc_get("http", "/healthz", NULL);
	assert_int_equal(r.status, 0);
	free(r.body);
	struct loop *l = loop_new();
	assert_null(hc_request(l, "GET", "https://127.0.0.1:1/", NULL, NULL, NULL, 1000, hc_done, NULL));
	loop_free(l);
	tls_client_free(bad);
}

static void expect(struct resp r, long status, const char *code)
{
	assert_int_equal(r.rc, CURLE_OK);
	if (r.status != status)
		fail_msg("status %ld, want %ld", r.status, status);
	if (code)
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(r.json, "error"), "code")), code);
	json_decref(r.json);
}

static void test_required_client_cert(void **state)
{
	expect(get1("/whoami", NULL, NULL), 401, "client_certificate_required");
	expect(get1("/whoami", P.rogue, P.rogue_key), 401, "client_certificate_required");
	expect(get1("/whoami", P.host, P.host_key), 403, "forbidden");
	expect(get1("/nope", NULL, NULL), 401, "client_certificate_required");
	expect(get1("/healthz", NULL, NULL), 200, NULL);
	expect(get1("/whoami", P.vdcd, P.vdcd_key), 200, NULL);
}

int main(void)
{
	const struct CMUnitTest optional[] = {
		cmocka_unit_test(test_optional_client_cert),
		cmocka_unit_test(test_plain_http_refused),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_loop_client),
	};
	const struct CMUnitTest required[] = {
		cmocka_unit_test(test_required_client_cert),
	};
	int failed = cmocka_run_group_tests_name("optional", optional, up_optional, server_down);
	failed += cmocka_run_group_tests_name("required", required, up_required, free_pki);
	return failed;
}
