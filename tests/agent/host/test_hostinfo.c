/* test_hostinfo.c - accel_cpuinfo_has_virt on /proc/cpuinfo texts: only a
 * whole "vmx" or "svm" word on a flags line counts, because a false yes
 * makes the agent pick KVM on a host where guests then hang. */
#include "testutil.h"

#include "hostinfo.h"

static const struct {
	const char *text;
	int virt;
} cases[] = {
	{"", 0},
	{"processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae\n", 0},
	{"processor\t: 0\nflags\t\t: fpu vme vmx de\n", 1},
	{"processor\t: 0\nflags\t\t: fpu vme de svm\n", 1},              /* last word */
	{"flags\t\t: vmx fpu\n", 1},                                      /* first word */
	{"flags\t\t: fpu svm", 1},                                        /* no final newline */
	{"flags:vmx\n", 1},
	{"flags\t: fpu\tvmx\tde\n", 1},                                   /* tab separated */
	{"flags\t\t: fpu svm_lock nrip_save\n", 0},                       /* a substring only */
	{"flags\t\t: fpu nvmx vmxe svmx xsvm\n", 0},
	{"flags\t\t: fpu VMX SVM\n", 0},                                  /* the kernel's spelling */
	/* Newer kernels list VMX features on a line of their own. */
	{"flags\t\t: fpu hypervisor\nvmx flags\t: vnmi preemption_timer invvpid ept_x_only\n", 0},
	{"flags\t\t: fpu vmx\nvmx flags\t: vnmi preemption_timer\n", 1},
	/* The words count on flags lines only. */
	{"model name\t: AMD EPYC with svm support\nflags\t\t: fpu\n", 0},
	{"bugs\t\t: vmx svm\nflags\t\t: fpu\n", 0},
	{"processor\t: 0\nflags\t\t: fpu\n\nprocessor\t: 1\nflags\t\t: fpu vmx\n", 1},
	{"processor\t: 0\nflags\t\t: fpu vmx\n\nprocessor\t: 1\nflags\t\t: fpu\n", 1},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (accel_cpuinfo_has_virt(cases[i].text) != cases[i].virt)
			fail_msg("case %zu: '%s' gave %d, want %d", i, cases[i].text,
			         accel_cpuinfo_has_virt(cases[i].text), cases[i].virt);
}

/* A real flags line is long (over 1,500 characters on current CPUs). */
static void test_long_flags_line(void **state)
{
	size_t n = 6000;
	char *text = malloc(n + 64);
	assert_non_null(text);
	strcpy(text, "processor\t: 0\nflags\t\t:");
	size_t len = strlen(text);
	while (len < n) {
		memcpy(text + len, " avx512_vnni", 12);
		len += 12;
	}
	strcpy(text + len, " vmx ept\n");
	assert_int_equal(accel_cpuinfo_has_virt(text), 1);
	strcpy(text + len, " ept\n");
	assert_int_equal(accel_cpuinfo_has_virt(text), 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_long_flags_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
