/* test_dispatch.c - every command's command line: what each good one parses
 * to (and the request body it makes), and the exit code 2 and message of
 * each bad one. Nothing is sent anywhere. */
#include "clitest.h"

#include "cli.h"

#include <jansson.h>

static char buf[2048];
static char *argv_[128];

static int parse(struct parsed *p, char *err, size_t n, const char *line)
{
	int argc = ct_argv(line, buf, sizeof(buf), argv_, 128);
	return cli_parse(argc, argv_, p, err, n);
}

/* Parses line, expecting success; the caller frees p. */
static void ok(struct parsed *p, const char *line, const char *fam, const char *cmd)
{
	char err[512] = "";
	int rc = parse(p, err, sizeof(err), line);
	if (rc)
		fail_msg("'%s' failed: %s", line, err);
	assert_false(p->help);
	assert_string_equal(p->fam->name, fam);
	assert_string_equal(p->cmd->name, cmd);
}

static void bad(const char *line, const char *msg)
{
	struct parsed p;
	char err[512] = "";
	int rc = parse(&p, err, sizeof(err), line);
	if (rc != 2)
		fail_msg("'%s': exit %d, not 2", line, rc);
	if (!strstr(err, msg))
		fail_msg("'%s': expected '%s' in '%s'", line, msg, err);
	parsed_free(&p);
}

static void test_find_commands(void **state)
{
	struct parsed p;
	ok(&p, "vm list", "vm", "list");
	assert_int_equal(p.output, OUT_TABLE);
	assert_string_equal(p.path, "vdc vm list");
	parsed_free(&p);
	/* Global flags anywhere, in every form. */
	ok(&p, "--server http://h:1 -o json vm get web", "vm", "get");
	assert_int_equal(p.output, OUT_JSON);
	assert_string_equal(args_str(&p.args, "server"), "http://h:1");
	assert_string_equal(p.args.pos[0], "web");
	parsed_free(&p);
	ok(&p, "vm -o json --token=abc start web --no-wait", "vm", "start");
	assert_string_equal(args_str(&p.args, "token"), "abc");
	assert_true(args_flag(&p.args, "no-wait"));
	parsed_free(&p);
	ok(&p, "login --server http://x:7443", "login", "");
	assert_string_equal(args_str(&p.args, "server"), "http://x:7443");
	parsed_free(&p);
	ok(&p, "version", "version", "");
	parsed_free(&p);
	ok(&p, "help vm create", "help", "");
	assert_int_equal(p.args.npos, 2);
	parsed_free(&p);
	ok(&p, "event list --limit 5 --before 100", "event", "list");
	assert_int_equal(args_value(&p.args, "limit")->i, 5);
	parsed_free(&p);
	ok(&p, "task watch 1234", "task", "watch");
	parsed_free(&p);
}

static void test_help_requests(void **state)
{
	struct parsed p;
	char err[256];
	const char *lines[] = {"--help", "-h", "vm --help", "vm create --help", "vm create web -h",
	                       "login --help", "--server x -h vm"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(parse(&p, err, sizeof(err), lines[i]), 0);
		assert_true(p.help);
		parsed_free(&p);
	}
	assert_int_equal(parse(&p, err, sizeof(err), "vm create --help"), 0);
	assert_string_equal(p.cmd->name, "create");
	parsed_free(&p);
	assert_int_equal(parse(&p, err, sizeof(err), "vm --help"), 0);
	assert_null(p.cmd);
	assert_string_equal(p.fam->name, "vm");
	parsed_free(&p);
}

static void test_usage_errors(void **state)
{
	bad("", "no command given");
	bad("--bogus", "unknown flag '--bogus'");
	bad("frob", "unknown command 'frob'");
	bad("vm", "'vdc vm' needs a verb: list get create delete start stop");
	bad("vm frob", "unknown command 'frob' for 'vdc vm'");
	bad("vm get", "'vdc vm get' needs NAME");
	bad("vm get a b", "unexpected argument 'b' ('vdc vm get' takes NAME)");
	bad("vm list extra", "unexpected argument 'extra' ('vdc vm list' takes no arguments)");
	bad("vm list --limit 0", "flag --limit expects a number of at least 1, not '0'");
	bad("vm list --limit x", "flag --limit expects a whole number, not 'x'");
	bad("vm list -o yaml", "flag -o expects 'table' or 'json', not 'yaml'");
	bad("vm create", "'vdc vm create' needs NAME");
	bad("vm create web", "flag --template TEMPLATE is required");
	bad("vm create web --template", "flag --template needs a value (TEMPLATE)");
	bad("vm create web --template t --vcpus many", "flag --vcpus expects a whole number, not 'many'");
	bad("vm create web --template t --no-start=true", "flag --no-start takes no value");
	bad("vm create web --template t --timeout 5", "unknown flag '--timeout'");
	bad("vm start web --timeout 5", "unknown flag '--timeout'");
	bad("vm stop web --timeout soon", "flag --timeout: 'soon' is not a duration");
	bad("vm snapshot web", "'vdc vm snapshot' needs NAME SNAPNAME");
	bad("vm console web --bytes 0", "flag --bytes: '0' is out of range: 1 to 1M");
	bad("vm console web --bytes 2M", "flag --bytes: '2M' is out of range: 1 to 1M");
	bad("vm console web -f -o json", "--follow prints the console as it comes; it has no JSON form");
	bad("host maintenance h1", "'vdc host maintenance' needs enter|exit NAME");
	bad("host maintenance h1 maybe", "maintenance takes 'enter NAME' or 'exit NAME', not 'h1 maybe'");
	bad("host join-token", "flag --cluster CLUSTER is required");
	bad("host join-token --cluster c --ttl 1x", "flag --ttl: '1x' is not a duration");
	bad("host create h1", "unknown command 'create' for 'vdc host'");
	bad("cluster create c --cpu-overcommit lots", "flag --cpu-overcommit expects a number, not 'lots'");
	bad("network create n", "flag --bridge BRIDGE is required");
	bad("network create n --bridge br0 --vlan ten", "flag --vlan expects a whole number, not 'ten'");
	bad("datastore create d", "flag --path DIR is required");
	bad("template create t", "flag --image IMAGE is required");
	bad("image import deb", "flag --from PATH is required");
	bad("image upload deb", "'vdc image upload' needs NAME FILE");
	bad("task watch", "'vdc task watch' needs ID");
	bad("task list --target", "flag --target needs a value (TARGET)");
	bad("event list --after x", "--after goes with --reverse (oldest first)");
	bad("event list --reverse --before 9", "with --reverse, page with --after");
	bad("version now", "unexpected argument 'now'");
	bad("login extra", "unexpected argument 'extra'");
}

/* The request body a create command line makes. */
static void expect_body(const char *line, const char *json)
{
	struct parsed p;
	char err[512] = "";
	int rc = parse(&p, err, sizeof(err), line);
	if (rc)
		fail_msg("'%s' failed: %s", line, err);
	json_t *body = NULL;
	rc = res_create_body(&p.args, p.args.npos ? p.args.pos[0] : NULL, &body, err, sizeof(err));
	if (rc)
		fail_msg("'%s': body failed: %s", line, err);
	char *s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
	if (strcmp(s, json))
		fail_msg("'%s':\n got  %s\n want %s", line, s, json);
	free(s);
	json_decref(body);
	parsed_free(&p);
}

static void test_create_bodies(void **state)
{
	expect_body("cluster create prod --cpu-overcommit 4 --mem-overcommit 1 --policy pack",
	            "{\"cpu_overcommit\":4.0,\"mem_overcommit\":1.0,\"name\":\"prod\",\"policy\":\"pack\"}");
	expect_body("network create front --bridge br0 --vlan 10 --description web",
	            "{\"bridge\":\"br0\",\"description\":\"web\",\"name\":\"front\",\"vlan\":10}");
	expect_body("datastore create ds1 --path /srv/ds", "{\"name\":\"ds1\",\"path\":\"/srv/ds\"}");
	expect_body("template create deb --image i.qcow2 --kernel k --initrd r --cmdline console=ttyS0 "
	            "--vcpus 2 --memory-mib 1024 --disk-size-mib 4096",
	            "{\"cmdline\":\"console=ttyS0\",\"disk_size_mib\":4096,\"image\":\"i.qcow2\","
	            "\"initrd\":\"r\",\"kernel\":\"k\",\"memory_mib\":1024,\"name\":\"deb\",\"vcpus\":2}");
	expect_body("image import deb --from cloud/debian-12.qcow2 --format raw",
	            "{\"format\":\"raw\",\"import_from\":\"cloud/debian-12.qcow2\",\"name\":\"deb\"}");
	expect_body("vm create web1 --template deb --cluster prod --vcpus 2 --memory-mib 512 "
	            "--disk-size-mib 2048 --network a --network b --datastore shared --no-start "
	            "--affinity g1 --anti-affinity g2 --anti-affinity g3 --no-wait -o json",
	            "{\"cluster\":\"prod\",\"datastore\":\"shared\",\"disk_size_mib\":2048,"
	            "\"memory_mib\":512,\"name\":\"web1\",\"networks\":[\"a\",\"b\"],"
	            "\"placement\":{\"affinity\":[\"g1\"],\"anti_affinity\":[\"g2\",\"g3\"]},"
	            "\"start\":false,\"template\":\"deb\",\"vcpus\":2}");
	expect_body("vm create web2 --template deb", "{\"name\":\"web2\",\"template\":\"deb\"}");
}

/* -f gives the body; NAME and flags go on top of it. */
static void test_create_from_file(void **state)
{
	char *dir = ct_tmpdir();
	char path[600], line[800];
	snprintf(path, sizeof(path), "%s/vm.json", dir);
	ct_write_file(path, "{\"name\":\"from-file\",\"template\":\"deb\",\"vcpus\":1,"
	                    "\"placement\":{\"affinity\":[\"x\"]}}");
	snprintf(line, sizeof(line), "vm create -f %s", path);
	expect_body(line, "{\"name\":\"from-file\",\"placement\":{\"affinity\":[\"x\"]},"
	                  "\"template\":\"deb\",\"vcpus\":1}");
	snprintf(line, sizeof(line), "vm create other -f %s --vcpus 4 --anti-affinity y", path);
	expect_body(line, "{\"name\":\"other\",\"placement\":{\"affinity\":[\"x\"],\"anti_affinity\":[\"y\"]},"
	                  "\"template\":\"deb\",\"vcpus\":4}");

	/* Bad files: not JSON, not an object, no name, missing. */
	struct parsed p;
	char err[512];
	json_t *body;
	const struct {
		const char *text, *msg;
	} cases[] = {
		{"{\"name\": ", "is not JSON: line 1"},
		{"[1,2]", "must hold a JSON object"},
		{"{\"template\":\"deb\"}", "give a NAME (or \"name\" in the -f file)"},
		{"{\"name\":\"a\",\"name\":\"b\"}", "is not JSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ct_write_file(path, cases[i].text);
		snprintf(line, sizeof(line), "vm create -f %s", path);
		assert_int_equal(parse(&p, err, sizeof(err), line), 0);
		assert_int_equal(res_create_body(&p.args, NULL, &body, err, sizeof(err)), 2);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: expected '%s' in '%s'", i, cases[i].msg, err);
		assert_null(body);
		parsed_free(&p);
	}
	assert_int_equal(parse(&p, err, sizeof(err), "vm create -f /nonexistent.json"), 0);
	assert_int_equal(res_create_body(&p.args, NULL, &body, err, sizeof(err)), 2);
	assert_string_equal(err, "cannot read -f /nonexistent.json: No such file or directory");
	parsed_free(&p);
	unlink(path);
	rmdir(dir);
	free(dir);
}

/* Every size and duration flag takes units (one parser each), and a bare
 * number keeps its old meaning (MiB, seconds) so that scripts keep working. */
static void test_units_everywhere(void **state)
{
	static const struct {
		const char *line, *json;
	} cases[] = {
		{"vm create w --template t --memory-mib 2G --disk-size-mib 20G",
		 "{\"disk_size_mib\":20480,\"memory_mib\":2048,\"name\":\"w\",\"template\":\"t\"}"},
		{"vm create w --template t --memory-mib 2048 --disk-size-mib 1.5T",
		 "{\"disk_size_mib\":1572864,\"memory_mib\":2048,\"name\":\"w\",\"template\":\"t\"}"},
		{"vm resize w --memory-mib 768M --disk-size-mib 40g", "{\"disk_size_mib\":40960,\"memory_mib\":768}"},
		{"template create t --image i --memory-mib 1G --disk-size-mib 4096",
		 "{\"disk_size_mib\":4096,\"image\":\"i\",\"memory_mib\":1024,\"name\":\"t\"}"},
		{"vm stop w --timeout 5m", "{\"timeout_s\":300}"},
		{"vm stop w --timeout 90", "{\"timeout_s\":90}"},
		{"vm stop w --timeout 0", "{\"timeout_s\":0}"},
		{"host join-token --cluster c --ttl 2h", "{\"cluster\":\"c\",\"ttl_s\":7200}"},
		{"host join-token --cluster c --ttl 600", "{\"cluster\":\"c\",\"ttl_s\":600}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parsed p;
		char err[512];
		if (parse(&p, err, sizeof(err), cases[i].line) != 0)
			fail_msg("'%s' refused: %s", cases[i].line, err);
		json_t *body = json_object();
		if (!strncmp(cases[i].line, "vm create", 9) || !strncmp(cases[i].line, "template create", 15)) {
			json_decref(body);
			assert_int_equal(res_create_body(&p.args, p.args.pos[0], &body, err, sizeof(err)), 0);
		} else {
			assert_int_equal(args_fill_body(&p.args, body, err, sizeof(err)), 0);
		}
		char *s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
		if (strcmp(s, cases[i].json))
			fail_msg("'%s':\n got  %s\n want %s", cases[i].line, s, cases[i].json);
		free(s);
		json_decref(body);
		parsed_free(&p);
	}
	/* The ttl flags parse to seconds too (their bodies are made in login.c
	 * and token.c from the value). */
	struct parsed p;
	char err[512];
	assert_int_equal(parse(&p, err, sizeof(err), "token create ci --ttl 5s"), 0);
	assert_int_equal(args_value(&p.args, "ttl")->i, 5);
	assert_string_equal(args_str(&p.args, "ttl"), "5s");
	parsed_free(&p);
	assert_int_equal(parse(&p, err, sizeof(err), "login -u a --ttl 3600"), 0);
	assert_int_equal(args_value(&p.args, "ttl")->i, 3600);
	parsed_free(&p);
	bad("vm create w --template t --memory-mib 2X", "flag --memory-mib: '2X' is not a size");
	bad("vm resize w --memory-mib 100K", "flag --memory-mib: '100K' is not a whole number of MiB");
	bad("vm stop w --timeout -5m", "flag --timeout: '-5m' is not a duration");
	bad("vm stop w --timeout 5M", "flag --timeout: '5M' is not a duration: units are lower case");
	bad("template create t --image i --disk-size-mib lots", "flag --disk-size-mib: 'lots' is not a size");
}

static void test_stop_and_token_bodies(void **state)
{
	struct parsed p;
	char err[256];
	json_t *body = json_object();
	assert_int_equal(parse(&p, err, sizeof(err), "vm stop web --timeout 60"), 0);
	assert_int_equal(args_fill_body(&p.args, body, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(body, "timeout_s")), 60);
	assert_int_equal(json_object_size(body), 1);
	parsed_free(&p);
	json_decref(body);
	body = json_object();
	assert_int_equal(parse(&p, err, sizeof(err), "host join-token --cluster prod --ttl 600"), 0);
	assert_int_equal(args_fill_body(&p.args, body, err, sizeof(err)), 0);
	char *s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"cluster\":\"prod\",\"ttl_s\":600}");
	free(s);
	parsed_free(&p);
	json_decref(body);
}

/* Logins, users, projects, tokens and quotas: what parses, the bodies, and
 * the bad values refused before anything is sent. */
static void test_tenancy(void **state)
{
	struct parsed p;
	char err[512];
	ok(&p, "login -u alice --ca-fingerprint sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --yes --ttl 12h",
	   "login", "");
	assert_string_equal(args_str(&p.args, "user"), "alice");
	assert_true(args_flag(&p.args, "yes"));
	parsed_free(&p);
	ok(&p, "user create bob --admin --password-stdin", "user", "create");
	parsed_free(&p);
	ok(&p, "user passwd", "user", "passwd");
	parsed_free(&p);
	ok(&p, "project add-member dev bob --role viewer", "project", "add-member");
	assert_string_equal(p.args.pos[1], "bob");
	parsed_free(&p);
	ok(&p, "token create ci --ttl 1h30m", "token", "create");
	parsed_free(&p);
	ok(&p, "token list --user bob --limit 5", "token", "list");
	parsed_free(&p);

	json_t *body = NULL;
	ok(&p, "quota set dev --vms 5 --vcpus 0 --memory 64G --disk unlimited", "quota", "set");
	assert_int_equal(quota_body(&p.args, &body, err, sizeof(err)), 0);
	char *s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"disk_mib\":null,\"memory_mib\":65536,\"vcpus\":0,\"vms\":5}");
	free(s);
	json_decref(body);
	parsed_free(&p);

	body = json_object();
	ok(&p, "vm create web --template t --project dev", "vm", "create");
	assert_int_equal(args_fill_body(&p.args, body, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(body, "project")), "dev");
	parsed_free(&p);
	json_decref(body);
	ok(&p, "network create n --bridge br0 --project dev", "network", "create");
	parsed_free(&p);
	ok(&p, "template create t --image i --project dev", "template", "create");
	parsed_free(&p);

	bad("login --user a --token b", "give --user (and type the password) or --token, not both");
	bad("login --user a --password pw", "unknown flag '--password'");
	bad("login --ca-fingerprint abc", "flag --ca-fingerprint expects sha256: and 64 hex digits");
	bad("login --ca-fingerprint sha256:0123", "not 'sha256:0123'");
	bad("login --token t --ttl 1h", "flag --ttl goes with --user");
	bad("login --user a --ttl 3x", "flag --ttl: '3x' is not a duration");
	bad("user create", "'vdc user create' needs NAME");
	bad("user create bob --password pw", "unknown flag '--password'");
	bad("user passwd a b", "unexpected argument 'b'");
	bad("user get bob", "unknown command 'get' for 'vdc user'");
	bad("project add-member dev bob", "flag --role ROLE is required");
	bad("project add-member dev bob --role owner", "unknown role 'owner': use admin, operator or viewer");
	bad("project add-member dev", "'vdc project add-member' needs PROJECT USER");
	bad("project remove-member dev", "needs PROJECT USER");
	bad("token create", "'vdc token create' needs NAME");
	bad("token create ci --ttl 30x", "flag --ttl: '30x' is not a duration: use a number and a unit");
	bad("token create ci --ttl 0d", "flag --ttl: '0d' is no time at all");
	bad("token revoke", "'vdc token revoke' needs NAME");
	bad("quota show", "'vdc quota show' needs PROJECT");
	bad("quota set dev", "give at least one of --vms, --vcpus, --memory, --disk");
	bad("quota set dev --vms -1", "flag --vms: '-1' is not a count");
	bad("quota set dev --vcpus lots", "flag --vcpus: 'lots' is not a count: use a whole number from 0 "
	                                  "to 1000000000 (or 'unlimited')");
	bad("quota set dev --memory 64X", "flag --memory: '64X' is not a size");
	bad("quota set dev --disk 0.1G", "flag --disk: '0.1G' is not a whole number of MiB");
}

/* Every command has a summary, fits the parser, and its help renders. */
/* 'vdc host power-driver' and 'vdc host power': their words and flags, and
 * --ipmi's ADDRESS[:PORT]. */
static void test_host_power(void **state)
{
	struct parsed p;
	ok(&p, "host power-driver set h1 --ipmi 10.0.9.11:6230 --user admin --password-file pw", "host",
	   "power-driver");
	assert_string_equal(p.args.pos[0], "set");
	assert_string_equal(args_str(&p.args, "password-file"), "pw");
	parsed_free(&p);
	ok(&p, "host power-driver clear h1", "host", "power-driver");
	parsed_free(&p);
	ok(&p, "host power h1 off --force --no-wait", "host", "power");
	assert_true(args_flag(&p.args, "force"));
	parsed_free(&p);
	ok(&p, "host power h1 status", "host", "power");
	parsed_free(&p);
	bad("host power-driver set h1 --user admin", "needs --ipmi ADDRESS[:PORT] and --user USER");
	bad("host power-driver set h1 --ipmi 10.0.0.1", "needs --ipmi ADDRESS[:PORT] and --user USER");
	bad("host power-driver wipe h1", "power-driver takes 'set HOST' or 'clear HOST', not 'wipe'");
	bad("host power-driver clear h1 --user x", "clear takes no --ipmi");
	bad("host power-driver set h1 --ipmi 10.0.0.1 --user u --password s3cret", "--password");
	bad("host power h1 reboot", "power takes HOST on|off|cycle|status, not 'reboot'");
	bad("host power h1", "'vdc host power' needs HOST on|off|cycle|status");

	static const struct {
		const char *in, *addr;
		long port;
		int rc;
	} cases[] = {
		{"10.0.9.11", "10.0.9.11", 0, 0},
		{"10.0.9.11:6230", "10.0.9.11", 6230, 0},
		{"bmc-1.example", "bmc-1.example", 0, 0},
		{"bmc-1.example:623", "bmc-1.example", 623, 0},
		{"fd00::5", "fd00::5", 0, 0},
		{"[fd00::5]:6230", "fd00::5", 6230, 0},
		{"[fd00::5]", "fd00::5", 0, 0},
		{"10.0.9.11:70000", NULL, 0, 2},
		{"10.0.9.11:", NULL, 0, 2},
		{"10.0.9.11:x", NULL, 0, 2},
		{":623", NULL, 0, 2},
		{"[fd00::5", NULL, 0, 2},
		{"[fd00::5]x", NULL, 0, 2},
		{"", NULL, 0, 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char addr[64] = "", err[256] = "";
		long port = -1;
		int rc = host_power_parse_bmc(cases[i].in, addr, sizeof(addr), &port, err, sizeof(err));
		if (rc != cases[i].rc || (rc == 0 && (strcmp(addr, cases[i].addr) || port != cases[i].port)) ||
		    (rc && !strstr(err, "--ipmi")))
			fail_msg("'%s': rc %d addr '%s' port %ld err '%s'", cases[i].in, rc, addr, port, err);
	}
}

static void test_help_texts(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	help_top(f);
	for (const struct family *const *fam = cli_families; *fam; fam++) {
		assert_non_null((*fam)->summary);
		help_family(f, *fam);
		for (const struct cmd *c = (*fam)->cmds; c->name; c++) {
			size_t n = 0;
			for (const struct opt *o = c->opts; o && o->name; o++)
				n++;
			assert_true(n + 3 < ARGS_MAX_OPTS);
			assert_non_null(c->summary);
			assert_non_null(c->run);
			assert_true(c->min_pos <= c->max_pos && c->max_pos <= ARGS_MAX_POS);
			help_command(f, *fam, c);
		}
	}
	fclose(f);
	/* The exit codes scripts rely on are documented. */
	const char *codes[] = {"0  ok", "1  failure reported by the server", "2  usage error",
	                       "3  not found", "4  conflict", "5  not authorized",
	                       "6  cannot reach the server"};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strstr(text, codes[i]))
			fail_msg("help lacks '%s'", codes[i]);
	assert_non_null(strstr(text, "--user-data-file FILE"));
	assert_non_null(strstr(text, "(repeatable)"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_commands),
		cmocka_unit_test(test_help_requests),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_create_bodies),
		cmocka_unit_test(test_create_from_file),
		cmocka_unit_test(test_units_everywhere),
		cmocka_unit_test(test_stop_and_token_bodies),
		cmocka_unit_test(test_tenancy),
		cmocka_unit_test(test_host_power),
		cmocka_unit_test(test_help_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
