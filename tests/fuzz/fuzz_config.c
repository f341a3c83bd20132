/* fuzz_config.c - libFuzzer harness for the agent's settings: the input as
 * a whole config file, as one key=value, and as command-line arguments.
 * Whatever is accepted must leave the settings within their stated rules. */
#include "config.h"
#include "jsonv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "property violated: %s\n", what);
		abort();
	}
}

/* abs_paths: datastore paths must be absolute (a datastore= setting); the
 * default one follows state-dir, which may itself be relative. */
static void check_config(const struct agent_config *c, int abs_paths)
{
	check(memchr(c->listen, 0, sizeof(c->listen)) != NULL, "listen is terminated");
	check(memchr(c->state_dir, 0, sizeof(c->state_dir)) != NULL, "state_dir is terminated");
	check(!strcmp(c->accel, "auto") || !strcmp(c->accel, "kvm") || !strcmp(c->accel, "tcg"),
	      "accel is auto, kvm or tcg");
	check(jv_is_safe_name(c->cgroup_base), "cgroup-base is a safe name");
	check(c->console_log_bytes >= 4096 && c->console_log_bytes <= (1u << 30),
	      "console-log-bytes in range");
	check(c->log_level >= 0 && c->log_level <= 3, "log level in range");
	check(c->ndatastores >= 0 && c->ndatastores <= MAX_DATASTORES, "datastore count");
	for (int i = 0; i < c->ndatastores; i++) {
		check(jv_is_safe_name(c->datastores[i].name), "datastore names are safe");
		check(!abs_paths || c->datastores[i].path[0] == '/', "datastore paths are absolute");
		for (int k = 0; k < i; k++)
			check(strcmp(c->datastores[i].name, c->datastores[k].name) != 0,
			      "datastore names are unique");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config c;
	char err[2048];

	/* As a file, read through /proc so no temporary file is left behind. */
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&c);
	err[0] = '\0';
	if (config_load_file(&c, path, 1, err, sizeof(err)) == 0)
		check_config(&c, 1);
	else
		check(err[0] != '\0', "a refusal says why");
	close(fd);

	/* As one setting: key up to the first '=', the rest the value. */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char *eq = strchr(s, '=');
	if (eq) {
		*eq = '\0';
		config_defaults(&c);
		err[0] = '\0';
		if (config_set(&c, s, eq + 1, err, sizeof(err)) == 0)
			check_config(&c, 1);
		else
			check(err[0] != '\0', "a refusal says why");
		*eq = '=';
	}

	/* As arguments, one per line. --config is left out: it would read any
	 * file the input names, /dev/zero included. */
	char *argv[34] = {"vdc-agent"};
	int argc = 1;
	for (char *save = NULL, *a = strtok_r(s, "\n", &save); a && argc < 33;
	     a = strtok_r(NULL, "\n", &save))
		if (!strstr(a, "config"))
			argv[argc++] = a;
	argv[argc] = NULL;
	config_defaults(&c);
	FILE *saved = stdout; /* --help prints usage */
	stdout = fopen("/dev/null", "w");
	int rc = config_parse_args(&c, argc, argv, err, sizeof(err));
	fclose(stdout);
	stdout = saved;
	if (rc == 0) {
		check_config(&c, c.state_dir[0] == '/');
		check(c.ndatastores >= 1, "there is always a datastore");
	}
	free(s);
	return 0;
}
