/* template.c - 'vdc template list|get|create|delete': the image, boot images
 * and default sizes VMs are made from. */
#include "cli.h"

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"IMAGE", "image", FMT_TEXT, 50, NULL},
	{"VCPUS", "vcpus", FMT_TEXT, 0, NULL},
	{"MEMORY", "memory_mib", FMT_MIB, 0, NULL},
	{"DISK", "disk_size_mib", FMT_MIB, 0, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"template", "templates", cols, NULL};

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};

static const struct opt create_opts[] = {
	{"image", 0, OPT_STR, "IMAGE", "the disk image (an image of the library: name or id)", "image", OPT_REQUIRED,
	 NULL},
	{"kernel", 0, OPT_STR, "IMAGE", "a kernel image to boot directly", "kernel", 0, NULL},
	{"initrd", 0, OPT_STR, "IMAGE", "its initramfs image (needs --kernel)", "initrd", 0, NULL},
	{"cmdline", 0, OPT_STR, "ARGS", "the kernel command line", "cmdline", 0, NULL},
	{"vcpus", 0, OPT_INT, "N", "default vCPUs (1)", "vcpus", 0, NULL},
	{"memory-mib", 0, OPT_SIZE, "SIZE", "default memory: 512M, 2G (a bare number is MiB; default 512)",
	 "memory_mib", 0, NULL},
	{"disk-size-mib", 0, OPT_SIZE, "SIZE", "default disk size: 20G (a bare number is MiB; 0: the image's)",
	 "disk_size_mib", 0, NULL},
	{"user-data-file", 0, OPT_FILE, "FILE", "default cloud-init user data", "user_data", 0, NULL},
	{"firmware", 0, OPT_STR, "FW", "what its VMs boot through when it has no kernel: bios (default) or uefi",
	 "firmware", 0, NULL},
	OPT_PROJECT,
	OPT_DESCRIPTION,
	OPT_BODY_FILE,
	OPT_END,
};

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	{"create", "NAME", 1, 1, "create a template", create_opts, res_create, &res, NULL,
	 "Images come from the library (vdc image upload|import).\n"
	 "Example:\n  vdc image upload debian12 debian-12.qcow2\n"
	 "  vdc template create debian12 --image debian12 --vcpus 2 --memory-mib 1024\n"},
	RES_DELETE(&res),
	{0},
};

const struct family cli_template = {"template", "what VMs are made from", cmds};
