/* test_seed.c - the NoCloud meta-data document: instance-id and
 * local-hostname default to the VM's uuid and name, meta_data overrides
 * them, and every string is written quoted so YAML reads it verbatim. */
#include "testutil.h"

#include "seed.h"

#define UUID "0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f60"

static char *meta_for(const char *spec_text)
{
	json_t *j = tu_json(spec_text);
	struct vm_spec spec;
	struct jv_err err = {0};
	if (vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err) != 0)
		fail_msg("%s refused: %s: %s", spec_text, err.field, err.message);
	json_decref(j);
	char *md = seed_meta_data(&spec);
	vm_spec_free(&spec);
	assert_non_null(md);
	return md;
}

static const struct {
	const char *spec;
	const char *meta;
} cases[] = {
	/* defaults: the uuid and the name */
	{"{'name':'web-1','uuid':'" UUID "','boot':{'kernel_image':'k'}}",
	 "instance-id: \"" UUID "\"\nlocal-hostname: \"web-1\"\n"},
	{"{'name':'web-1','uuid':'" UUID "','boot':{'kernel_image':'k'},'cloud_init':{}}",
	 "instance-id: \"" UUID "\"\nlocal-hostname: \"web-1\"\n"},
	{"{'name':'web-1','uuid':'" UUID "','boot':{'kernel_image':'k'},"
	 "'cloud_init':{'meta_data':{}}}",
	 "instance-id: \"" UUID "\"\nlocal-hostname: \"web-1\"\n"},
	/* overrides, given in any order, still come first and once */
	{"{'name':'web-1','uuid':'" UUID "','boot':{'kernel_image':'k'},"
	 "'cloud_init':{'meta_data':{'local-hostname':'www.example.org','instance-id':'i-42'}}}",
	 "instance-id: \"i-42\"\nlocal-hostname: \"www.example.org\"\n"},
	{"{'name':'web-1','uuid':'" UUID "','boot':{'kernel_image':'k'},"
	 "'cloud_init':{'meta_data':{'instance-id':7}}}",
	 "instance-id: 7\nlocal-hostname: \"web-1\"\n"},
	/* extra keys in their order; strings quoted, numbers and booleans bare */
	{"{'name':'db','uuid':'" UUID "','boot':{'kernel_image':'k'},"
	 "'cloud_init':{'meta_data':{'role':'db: primary','shard':3,'primary':true,"
	 "'local-hostname':'db0','note':'say \\'hi\\' \\\\ # not a comment'}}}",
	 "instance-id: \"" UUID "\"\nlocal-hostname: \"db0\"\nrole: \"db: primary\"\nshard: 3\n"
	 "primary: true\nnote: \"say \\\"hi\\\" \\\\ # not a comment\"\n"},
	/* words YAML would otherwise turn into booleans, nulls, lists or maps */
	{"{'name':'y','uuid':'" UUID "','boot':{'kernel_image':'k'},"
	 "'cloud_init':{'meta_data':{'a':'yes','b':'null','c':'- x','d':'{x: 1}','e':'','f':'007'}}}",
	 "instance-id: \"" UUID "\"\nlocal-hostname: \"y\"\na: \"yes\"\nb: \"null\"\nc: \"- x\"\n"
	 "d: \"{x: 1}\"\ne: \"\"\nf: \"007\"\n"},
};

static void test_meta_data(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *md = meta_for(cases[i].spec);
		if (strcmp(md, cases[i].meta) != 0)
			fail_msg("case %zu:\n--- got\n%s--- want\n%s", i, md, cases[i].meta);
		free(md);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
