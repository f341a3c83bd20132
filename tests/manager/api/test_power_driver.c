/* test_power_driver.c - resource_parse_power_driver as a table: each bad
 * body is refused naming its field (above all what would read as an option
 * of ipmitool's), each good one gives the document the host keeps, with
 * its defaults and never the password. */
#include "testutil.h"

#include "resources.h"

static void refusals_name_their_field(void **state)
{
	static const struct {
		const char *body, *field, *says;
	} cases[] = {
		{"{}", "driver", "required"},
		{"{'driver':'wol','address':'10.0.0.5','username':'u'}", "driver", "it has: ipmi"},
		{"{'driver':'ipmi','username':'u'}", "address", "required"},
		{"{'driver':'ipmi','address':'-oProxyCommand=touch /tmp/x','username':'u'}", "address", "starts with '-'"},
		{"{'driver':'ipmi','address':'-H','username':'u'}", "address", "starts with '-'"},
		{"{'driver':'ipmi','address':'bmc 1','username':'u'}", "address", "not an IP address or a host name"},
		{"{'driver':'ipmi','address':'bmc-.example','username':'u'}", "address", "not an IP"},
		{"{'driver':'ipmi','address':'a;reboot','username':'u'}", "address", "not an IP"},
		{"{'driver':'ipmi','address':'','username':'u'}", "address", "not an IP"},
		{"{'driver':'ipmi','address':'10.0.0.5','port':70000,'username':'u'}", "port", NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','port':0,'username':'u'}", "port", NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','port':'623','username':'u'}", "port", "integer"},
		{"{'driver':'ipmi','address':'10.0.0.5'}", "username", "required"},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'-E'}", "username", "not starting with '-'"},
		{"{'driver':'ipmi','address':'10.0.0.5','username':''}", "username", NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'seventeen-chars-x'}", "username", NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'u','password':''}", "password", NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'u','password':'twenty-one-characters'}", "password",
		 NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'u','password':'tab\\there'}", "password", "printable"},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'u','cipher_suite':18}", "cipher_suite", NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'u','timeout_s':1}", "timeout_s", NULL},
		{"{'driver':'ipmi','address':'10.0.0.5','username':'u','interface':'lan'}", "interface", NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *body = tu_json(cases[i].body), *power = NULL;
		const char *pw = NULL;
		struct jv_err err = {0};
		int rc = resource_parse_power_driver(body, &power, &pw, &err);
		if (rc != -1 || strcmp(err.field, cases[i].field) ||
		    (cases[i].says && !strstr(err.message, cases[i].says))) {
			print_error("case %zu %s: rc %d field '%s' message '%s'\n", i, cases[i].body, rc, err.field,
			            err.message);
			fail();
		}
		assert_null(power);
		json_decref(body);
	}
}

static void accepted_bodies(void **state)
{
	static const struct {
		const char *body, *want, *password;
	} cases[] = {
		{"{'driver':'ipmi','address':'10.0.0.5','username':'admin','password':'s3cret'}",
		 "{'driver':'ipmi','address':'10.0.0.5','port':623,'username':'admin','cipher_suite':3,'timeout_s':10}",
		 "s3cret"},
		{"{'driver':'ipmi','address':'bmc-7.rack2.example','port':6230,'username':'ops user','cipher_suite':17,"
		 "'timeout_s':30}",
		 "{'driver':'ipmi','address':'bmc-7.rack2.example','port':6230,'username':'ops user','cipher_suite':17,"
		 "'timeout_s':30}",
		 NULL},
		{"{'driver':'ipmi','address':'fd00::5','username':'u','password':'-starts with dash'}",
		 "{'driver':'ipmi','address':'fd00::5','port':623,'username':'u','cipher_suite':3,'timeout_s':10}",
		 "-starts with dash"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *body = tu_json(cases[i].body), *power = NULL, *want = tu_json(cases[i].want);
		const char *pw = NULL;
		struct jv_err err = {0};
		if (resource_parse_power_driver(body, &power, &pw, &err) != 0 || !json_equal(power, want)) {
			char *got = power ? json_dumps(power, JSON_COMPACT) : NULL;
			print_error("case %zu: got %s (error %s: %s)\n", i, got ? got : "NULL", err.field, err.message);
			free(got);
			fail();
		}
		if (cases[i].password)
			assert_string_equal(pw, cases[i].password);
		else
			assert_null(pw);
		assert_null(json_object_get(power, "password"));
		json_decref(power);
		json_decref(want);
		json_decref(body);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(refusals_name_their_field),
	    cmocka_unit_test(accepted_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
