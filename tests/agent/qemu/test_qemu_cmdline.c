/* test_qemu_cmdline.c - the QEMU argv built from a spec: each test builds a
 * line and checks the options that matter for one feature (boot, disks,
 * NICs, seed, sandbox, accelerator, display) and the quoting of values. */
#include "testutil.h"

#include "qemu_cmdline.h"

#include <errno.h>

#define UUID "0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f60"

/* Index of the first argument equal to s at or after from, or -1. */
static int find_arg(const struct strv *sv, const char *s, int from)
{
	for (int i = from; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return i;
	return -1;
}

/* True when "opt value" appears as two consecutive arguments. */
static bool has_pair(const struct strv *sv, const char *opt, const char *value)
{
	for (int i = 0; i + 1 < sv->n; i++)
		if (!strcmp(sv->v[i], opt) && !strcmp(sv->v[i + 1], value))
			return true;
	return false;
}

/* Number of arguments that contain needle. */
static int count_containing(const struct strv *sv, const char *needle)
{
	int n = 0;
	for (int i = 0; i < sv->n; i++)
		n += strstr(sv->v[i], needle) != NULL;
	return n;
}

static void spec_from(const char *text, struct vm_spec *spec)
{
	json_t *j = tu_json(text);
	struct jv_err err = {0};
	if (vm_spec_parse(j, VM_SPEC_FROM_STORE, spec, &err) != 0)
		fail_msg("%s refused: %s: %s", text, err.field, err.message);
	json_decref(j);
	snprintf(spec->uuid, sizeof(spec->uuid), UUID);
	vm_spec_fill_defaults(spec, "local");
}

static struct qemu_launch launch_defaults(void)
{
	struct qemu_launch l = {.binary = "/usr/bin/qemu-system-x86_64", .accel = "tcg",
	                        .qmp_fd = 3, .serial_fd = 4, .seed_path = NULL, .sandbox = false};
	for (int i = 0; i < VM_MAX_NICS; i++)
		l.tap_fds[i] = -1;
	return l;
}

static void build(const struct vm_spec *spec, const struct qemu_launch *l, struct strv *sv)
{
	assert_int_equal(qemu_cmdline_build(spec, l, sv), 0);
	assert_true(sv->n > 0);
	assert_null(sv->v[sv->n]); /* execv wants the terminator */
	for (int i = 0; i < sv->n; i++)
		assert_non_null(sv->v[i]);
}

static void test_common(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'web','vcpus':3,'memory_mib':768,"
	          "'disks':[{'name':'root','size_mib':1,'path':'/d/root.qcow2'}]}", &spec);
	struct qemu_launch l = launch_defaults();
	l.qmp_fd = 17;
	l.serial_fd = 23;
	struct strv sv;
	build(&spec, &l, &sv);
	assert_string_equal(sv.v[0], "/usr/bin/qemu-system-x86_64");
	assert_true(has_pair(&sv, "-name", "guest=web,debug-threads=on"));
	assert_true(has_pair(&sv, "-uuid", UUID));
	assert_true(has_pair(&sv, "-m", "768"));
	assert_true(has_pair(&sv, "-smp", "3"));
	assert_true(find_arg(&sv, "-nodefaults", 0) > 0);
	/* The sockets the agent listens on are handed over by fd number. */
	assert_true(has_pair(&sv, "-chardev", "socket,id=qmp,fd=17,server=on,wait=off"));
	assert_true(has_pair(&sv, "-mon", "chardev=qmp,mode=control"));
	assert_true(has_pair(&sv, "-chardev", "socket,id=serial0,fd=23,server=on,wait=off"));
	assert_true(has_pair(&sv, "-serial", "chardev:serial0"));
	/* No guest agent socket given: no channel. */
	assert_false(has_pair(&sv, "-device", "virtio-serial-pci,id=vser0"));
	strv_free(&sv);
	/* With one: the virtio-serial port qemu-ga looks for by name. */
	l.qga_fd = 24;
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-chardev", "socket,id=qga0,fd=24,server=on,wait=off"));
	assert_true(has_pair(&sv, "-device", "virtio-serial-pci,id=vser0"));
	assert_true(has_pair(&sv, "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0"));
	strv_free(&sv);
	assert_null(sv.v);
	assert_int_equal(sv.n, 0);
	vm_spec_free(&spec);
}

static void test_kernel_boot(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'k','boot':{'kernel':'/b/vmlinuz','initrd':'/b/initrd',"
	          "'cmdline':'console=ttyS0 root=/dev/vda rw'},"
	          "'disks':[{'name':'root','size_mib':1,'path':'/d/root.qcow2'}]}", &spec);
	struct qemu_launch l = launch_defaults();
	struct strv sv;
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-kernel", "/b/vmlinuz"));
	assert_true(has_pair(&sv, "-initrd", "/b/initrd"));
	/* The command line is one argument, spaces and all. */
	assert_true(has_pair(&sv, "-append", "console=ttyS0 root=/dev/vda rw"));
	/* The kernel boots; no disk claims the boot order. */
	assert_int_equal(count_containing(&sv, "bootindex"), 0);
	strv_free(&sv);
	vm_spec_free(&spec);

	spec_from("{'name':'k','boot':{'kernel':'/b/vmlinuz'}}", &spec);
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-kernel", "/b/vmlinuz"));
	assert_int_equal(find_arg(&sv, "-initrd", 0), -1);
	assert_int_equal(find_arg(&sv, "-append", 0), -1);
	assert_int_equal(find_arg(&sv, "-drive", 0), -1);
	strv_free(&sv);
	vm_spec_free(&spec);
}

static void test_disk_boot(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'d','disks':[{'name':'root','size_mib':1,'path':'/d/root.qcow2'},"
	          "{'name':'data','size_mib':1,'path':'/d/data.qcow2'}]}", &spec);
	struct qemu_launch l = launch_defaults();
	struct strv sv;
	build(&spec, &l, &sv);
	assert_int_equal(find_arg(&sv, "-kernel", 0), -1);
	assert_true(has_pair(&sv, "-drive",
	                     "file=/d/root.qcow2,format=qcow2,if=none,id=drive-root,node-name=vdc-root,discard=unmap"));
	assert_true(has_pair(&sv, "-device", "virtio-blk-pci,drive=drive-root,id=disk-root,bootindex=1"));
	assert_true(has_pair(&sv, "-drive",
	                     "file=/d/data.qcow2,format=qcow2,if=none,id=drive-data,node-name=vdc-data,discard=unmap"));
	assert_true(has_pair(&sv, "-device", "virtio-blk-pci,drive=drive-data,id=disk-data"));
	assert_int_equal(count_containing(&sv, "bootindex"), 1);
	/* Drives come in spec order: the boot disk first. */
	assert_true(find_arg(&sv, "virtio-blk-pci,drive=drive-root,id=disk-root,bootindex=1", 0) <
	            find_arg(&sv, "virtio-blk-pci,drive=drive-data,id=disk-data", 0));
	strv_free(&sv);
	vm_spec_free(&spec);
}

static void test_nics(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'n','disks':[{'name':'root','size_mib':1,'path':'/d/r'}],"
	          "'nics':[{'bridge':'br0','mac':'52:54:00:00:00:0a'},"
	          "{'mode':'user','mac':'52:54:00:00:00:0b'},{'bridge':'br1'},{'mode':'nat'}]}", &spec);
	struct qemu_launch l = launch_defaults();
	l.tap_fds[0] = 41;
	l.tap_fds[2] = 57;
	l.tap_fds[3] = 60;
	struct strv sv;
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-netdev", "tap,id=net0,fd=41,vhost=off"));
	assert_true(has_pair(&sv, "-device", "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:00:00:0a"));
	/* User mode never reaches the host: 10.0.2.2 would be its loopback. */
	assert_true(has_pair(&sv, "-netdev", "user,id=net1,restrict=on"));
	assert_int_equal(count_containing(&sv, "user,"), 1);
	/* A NAT NIC is a tap like a bridged one. */
	assert_true(has_pair(&sv, "-netdev", "tap,id=net3,fd=60,vhost=off"));
	assert_true(has_pair(&sv, "-device", "virtio-net-pci,netdev=net1,id=nic1,mac=52:54:00:00:00:0b"));
	assert_true(has_pair(&sv, "-netdev", "tap,id=net2,fd=57,vhost=off"));
	char dev[128];
	snprintf(dev, sizeof(dev), "virtio-net-pci,netdev=net2,id=nic2,mac=%s", spec.nics[2].mac);
	assert_true(has_pair(&sv, "-device", dev));
	/* A user-mode NIC never refers to a tap fd. */
	assert_int_equal(count_containing(&sv, "fd=-1"), 0);
	assert_int_equal(count_containing(&sv, "-netdev"), 4);
	strv_free(&sv);
	vm_spec_free(&spec);
}

static void test_seed(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'s','disks':[{'name':'root','size_mib':1,'path':'/d/r'}],"
	          "'cloud_init':{'user_data':'#cloud-config'}}", &spec);
	struct qemu_launch l = launch_defaults();
	struct strv sv;
	build(&spec, &l, &sv);
	assert_int_equal(count_containing(&sv, "cidata"), 0);
	strv_free(&sv);
	l.seed_path = "/run/vdc/s/seed.iso";
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-drive",
	                     "file=/run/vdc/s/seed.iso,format=raw,if=none,id=drive-cidata,readonly=on"));
	assert_true(has_pair(&sv, "-device", "virtio-blk-pci,drive=drive-cidata,id=disk-cidata"));
	/* The seed never takes the boot slot from the root disk. */
	assert_int_equal(count_containing(&sv, "bootindex"), 1);
	assert_int_equal(count_containing(&sv, "disk-cidata,bootindex"), 0);
	strv_free(&sv);
	vm_spec_free(&spec);
}

static void test_sandbox(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'s','boot':{'kernel':'/k'}}", &spec);
	struct qemu_launch l = launch_defaults();
	struct strv sv;
	build(&spec, &l, &sv);
	assert_int_equal(find_arg(&sv, "-sandbox", 0), -1);
	strv_free(&sv);
	l.sandbox = true;
	build(&spec, &l, &sv);
	int i = find_arg(&sv, "-sandbox", 0);
	assert_true(i > 0 && i + 1 < sv.n);
	assert_int_equal(strncmp(sv.v[i + 1], "on,", 3), 0);
	assert_non_null(strstr(sv.v[i + 1], "spawn=deny"));
	assert_non_null(strstr(sv.v[i + 1], "elevateprivileges=deny"));
	strv_free(&sv);
	vm_spec_free(&spec);
}

static void test_accel(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'a','boot':{'kernel':'/k'}}", &spec);
	struct qemu_launch l = launch_defaults();
	struct strv sv;
	l.accel = "kvm";
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-machine", "q35,accel=kvm"));
	assert_true(has_pair(&sv, "-cpu", "host"));
	strv_free(&sv);
	/* TCG cannot pass the host CPU through: no -cpu at all. */
	l.accel = "tcg";
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-machine", "q35,accel=tcg"));
	assert_int_equal(find_arg(&sv, "-cpu", 0), -1);
	assert_int_equal(count_containing(&sv, "host"), 0);
	strv_free(&sv);
	vm_spec_free(&spec);
}

/* A CPU model (the cluster's baseline) is the same -cpu under either
 * accelerator: the guest sees one CPU on every host. */
static void test_cpu_model(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'a','boot':{'kernel':'/k'},'cpu_model':'Nehalem'}", &spec);
	struct qemu_launch l = launch_defaults();
	struct strv sv;
	const char *accels[] = {"kvm", "tcg"};
	for (int i = 0; i < 2; i++) {
		l.accel = accels[i];
		build(&spec, &l, &sv);
		assert_true(has_pair(&sv, "-cpu", "Nehalem"));
		assert_int_equal(find_arg(&sv, "-cpu", find_arg(&sv, "-cpu", 0) + 1), -1);
		strv_free(&sv);
	}
	vm_spec_free(&spec);
}

/* A watchdog is the device plus QEMU doing nothing when it fires (the
 * agent acts on the event); none is no device and no action at all. */
static void test_watchdog(void **state)
{
	struct vm_spec spec;
	struct qemu_launch l = launch_defaults();
	struct strv sv;
	spec_from("{'name':'a','boot':{'kernel':'/k'},'watchdog':'i6300esb'}", &spec);
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-device", "i6300esb,id=watchdog0"));
	assert_true(has_pair(&sv, "-action", "watchdog=none"));
	assert_int_equal(count_containing(&sv, "i6300esb"), 1);
	strv_free(&sv);
	vm_spec_free(&spec);
	spec_from("{'name':'a','boot':{'kernel':'/k'},'watchdog':null}", &spec);
	build(&spec, &l, &sv);
	assert_int_equal(count_containing(&sv, "i6300esb"), 0);
	assert_int_equal(find_arg(&sv, "-action", 0), -1);
	strv_free(&sv);
	vm_spec_free(&spec);
}

/* Firmware: a table of specs and what their line must (and must not) hold.
 * BIOS is QEMU's own SeaBIOS (no pflash); UEFI maps the host's OVMF code
 * read-only and the VM's own store writable; boot_order sets bootindex on
 * the first disk and the first NIC in its order; a kernel file boots with
 * no bootindex at all. */
static void test_firmware(void **state)
{
	static const struct {
		const char *spec;
		const char *want[4];
		const char *absent;
		int bootindexes;
	} cases[] = {
		{"{'name':'b','disks':[{'name':'r','size_mib':1,'path':'/d/r'}],'nics':[{'mode':'user'}]}",
		 {"virtio-blk-pci,drive=drive-r,id=disk-r,bootindex=1"}, "pflash", 1},
		{"{'name':'b','firmware':'bios','boot_order':['net','disk'],'disks':[{'name':'r','size_mib':1,"
		 "'path':'/d/r'}],'nics':[{'mode':'user','mac':'52:54:00:00:00:01'}]}",
		 {"virtio-blk-pci,drive=drive-r,id=disk-r,bootindex=2",
		  "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:00:00:01,bootindex=1"}, "pflash", 2},
		{"{'name':'u','firmware':'uefi','disks':[{'name':'r','size_mib':1,'path':'/d/r'},"
		 "{'name':'s','size_mib':1,'path':'/d/s'}]}",
		 {"if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
		  "if=pflash,format=raw,unit=1,file=/ds/u,,x/uefi-vars.fd",
		  "virtio-blk-pci,drive=drive-r,id=disk-r,bootindex=1", "virtio-blk-pci,drive=drive-s,id=disk-s"},
		 "-kernel", 1},
		{"{'name':'u','firmware':'uefi','boot_order':['cdrom','disk','net'],'disks':[{'name':'r',"
		 "'size_mib':1,'path':'/d/r'}],'nics':[{'mode':'user','mac':'52:54:00:00:00:01'}]}",
		 {"virtio-blk-pci,drive=drive-r,id=disk-r,bootindex=2",
		  "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:00:00:01,bootindex=3"}, NULL, 2},
		{"{'name':'u','firmware':'uefi','boot_order':['disk'],'disks':[{'name':'r','size_mib':1,"
		 "'path':'/d/r'}],'nics':[{'mode':'user','mac':'52:54:00:00:00:01'}]}",
		 {"virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:00:00:01"}, NULL, 1},
		{"{'name':'k','boot':{'kernel':'/k'},'boot_order':['net'],'disks':[{'name':'r','size_mib':1,"
		 "'path':'/d/r'}],'nics':[{'mode':'user'}]}", {"/k"}, "pflash", 0},
		/* The CD-ROM: on q35's AHCI bus, read-only, raw; first in the
		 * order, it boots before the disk (an installer). */
		{"{'name':'c','boot_order':['cdrom','disk'],'cdrom':{'image':'inst','path':'/i,x/inst'},"
		 "'disks':[{'name':'r','size_mib':1,'path':'/d/r'}]}",
		 {"file=/i,,x/inst,format=raw,if=none,id=drive-cdrom0,media=cdrom,readonly=on",
		  "ide-cd,drive=drive-cdrom0,bus=ide.0,id=cdrom0,bootindex=1",
		  "virtio-blk-pci,drive=drive-r,id=disk-r,bootindex=2"}, "pflash", 2},
		/* An empty drive, not in the order: no medium, no bootindex. */
		{"{'name':'c','cdrom':{},'disks':[{'name':'r','size_mib':1,'path':'/d/r'}]}",
		 {"if=none,id=drive-cdrom0,media=cdrom,readonly=on", "ide-cd,drive=drive-cdrom0,bus=ide.0,id=cdrom0",
		  "virtio-blk-pci,drive=drive-r,id=disk-r,bootindex=1"}, "file=/i", 1},
		/* UEFI falls through an empty disk to the CD. */
		{"{'name':'u','firmware':'uefi','boot_order':['disk','cdrom'],'cdrom':{'image':'inst','path':'/i/inst'},"
		 "'disks':[{'name':'r','size_mib':1,'path':'/d/r'}]}",
		 {"ide-cd,drive=drive-cdrom0,bus=ide.0,id=cdrom0,bootindex=2",
		  "virtio-blk-pci,drive=drive-r,id=disk-r,bootindex=1"}, "-kernel", 2},
		/* A kernel file boots the VM: the CD is there, with no bootindex. */
		{"{'name':'k','boot':{'kernel':'/k'},'boot_order':['cdrom'],'cdrom':{'image':'inst','path':'/i/inst'}}",
		 {"ide-cd,drive=drive-cdrom0,bus=ide.0,id=cdrom0"}, "pflash", 0},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vm_spec spec;
		struct qemu_launch l = launch_defaults();
		l.uefi_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
		l.uefi_vars = "/ds/u,x/uefi-vars.fd";
		struct strv sv;
		spec_from(cases[c].spec, &spec);
		build(&spec, &l, &sv);
		for (int k = 0; k < 4 && cases[c].want[k]; k++)
			if (find_arg(&sv, cases[c].want[k], 0) < 0)
				fail_msg("case %zu: no argument %s", c, cases[c].want[k]);
		if (cases[c].absent && count_containing(&sv, cases[c].absent))
			fail_msg("case %zu: %s in the line", c, cases[c].absent);
		assert_int_equal(count_containing(&sv, "bootindex"), cases[c].bootindexes);
		assert_int_equal(count_containing(&sv, "pflash"), spec.firmware == VM_FW_UEFI ? 2 : 0);
		strv_free(&sv);
		/* UEFI without the agent's files is refused, never a line
		 * without firmware. */
		if (spec.firmware == VM_FW_UEFI) {
			l.uefi_vars = NULL;
			assert_int_equal(qemu_cmdline_build(&spec, &l, &sv), -EINVAL);
		}
		vm_spec_free(&spec);
	}
}

static void test_display(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'v','boot':{'kernel':'/k'}}", &spec);
	struct qemu_launch l = launch_defaults();
	l.vnc_path = "/run/vdc/vnc/v,x/vnc.sock";
	struct strv sv;
	build(&spec, &l, &sv);
	int i = find_arg(&sv, "-vnc", 0);
	assert_true(i > 0);
	/* VNC on the VM's unix socket (',' doubled), never on TCP. */
	assert_string_equal(sv.v[i + 1], "unix:/run/vdc/vnc/v,,x/vnc.sock,share=force-shared");
	assert_true(has_pair(&sv, "-vga", "std"));
	assert_int_equal(find_arg(&sv, "-display", 0), -1);
	strv_free(&sv);
	vm_spec_free(&spec);

	spec_from("{'name':'v','display':'none','boot':{'kernel':'/k'}}", &spec);
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-display", "none"));
	assert_int_equal(find_arg(&sv, "-vnc", 0), -1);
	assert_int_equal(find_arg(&sv, "-vga", 0), -1);
	strv_free(&sv);
	vm_spec_free(&spec);
}

/* A ',' in a path would start a new QEMU option (file=/a,b -> option "b"):
 * doubled, it stays part of the value. */
static void test_commas_in_paths(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'c','disks':[{'name':'root','size_mib':1,"
	          "'path':'/d/a,format=raw,x.qcow2'}]}", &spec);
	struct qemu_launch l = launch_defaults();
	l.seed_path = "/run/a,b/seed.iso";
	struct strv sv;
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-drive", "file=/d/a,,format=raw,,x.qcow2,format=qcow2,if=none,"
	                                    "id=drive-root,node-name=vdc-root,discard=unmap"));
	assert_true(has_pair(&sv, "-drive",
	                     "file=/run/a,,b/seed.iso,format=raw,if=none,id=drive-cidata,readonly=on"));
	strv_free(&sv);
	vm_spec_free(&spec);
}

static void test_opt_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ""}, {"plain", "plain"}, {",", ",,"}, {",,", ",,,,"}, {"a,b", "a,,b"},
		{",a,", ",,a,,"}, {"/x/y=z", "/x/y=z"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *s = qemu_opt_escape(cases[i].in);
		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

/* Many disks and NICs push argv past its first allocation. */
static void test_large_line(void **state)
{
	json_t *disks = json_array(), *nics = json_array();
	for (int i = 0; i < VM_MAX_DISKS; i++) {
		char name[16], path[64];
		snprintf(name, sizeof(name), "disk%d", i);
		snprintf(path, sizeof(path), "/d/disk%d.qcow2", i);
		json_array_append_new(disks, json_pack("{s:s, s:i, s:s}", "name", name, "size_mib", 1,
		                                       "path", path));
	}
	for (int i = 0; i < VM_MAX_NICS; i++)
		json_array_append_new(nics, json_pack("{s:s}", "bridge", "br0"));
	json_t *j = json_pack("{s:s, s:o, s:o}", "name", "big", "disks", disks, "nics", nics);
	struct vm_spec spec;
	struct jv_err err = {0};
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_STORE, &spec, &err), 0);
	json_decref(j);
	snprintf(spec.uuid, sizeof(spec.uuid), UUID);
	vm_spec_fill_defaults(&spec, "local");
	struct qemu_launch l = launch_defaults();
	for (int i = 0; i < VM_MAX_NICS; i++)
		l.tap_fds[i] = 100 + i;
	l.seed_path = "/s.iso";
	l.sandbox = true;
	struct strv sv;
	build(&spec, &l, &sv);
	assert_int_equal(count_containing(&sv, "virtio-blk-pci"), VM_MAX_DISKS + 1);
	assert_int_equal(count_containing(&sv, "virtio-net-pci"), VM_MAX_NICS);
	assert_true(has_pair(&sv, "-netdev", "tap,id=net7,fd=107,vhost=off"));
	strv_free(&sv);
	vm_spec_free(&spec);
}
/* Hot-plug: free root ports after the root-bus devices (whose addresses
 * stay as before hot-plug), the devices on ports after them, a pending
 * add left out, a pending removal kept (the QEMU of an incoming VM has
 * what the sender's has), the boot index on the first disk QEMU has. */
static void test_hotplug(void **state)
{
	struct vm_spec spec;
	spec_from("{'name':'h','hotplug_ports':3,'disks':["
	          "{'name':'root','size_mib':1,'path':'/d/root','state':'pending_remove'},"
	          "{'name':'new','size_mib':1,'path':'/d/new','slot':3,'state':'pending_add'},"
	          "{'name':'old','size_mib':1,'path':'/d/old','state':'unused'},"
	          "{'name':'d1','size_mib':1,'path':'/d/d1','slot':1}],"
	          "'nics':[{'bridge':'br0','mac':'52:54:00:00:00:0a'},{'bridge':'br0','id':4,'slot':2,'mac':'52:54:00:00:00:0c'}]}",
	          &spec);
	struct qemu_launch l = launch_defaults();
	l.tap_fds[0] = 41;
	l.tap_fds[1] = 42;
	struct strv sv;
	build(&spec, &l, &sv);
	for (int p = 1; p <= 3; p++) {
		char port[64];
		snprintf(port, sizeof(port), "pcie-root-port,id=hp%d,chassis=%d", p, p);
		assert_true(has_pair(&sv, "-device", port));
	}
	assert_int_equal(count_containing(&sv, "pcie-root-port"), 3);
	assert_true(has_pair(&sv, "-device", "virtio-blk-pci,drive=drive-root,id=disk-root,bootindex=1"));
	assert_true(has_pair(&sv, "-device", "virtio-blk-pci,drive=drive-d1,id=disk-d1,bus=hp1"));
	assert_int_equal(count_containing(&sv, "/d/new"), 0);
	assert_int_equal(count_containing(&sv, "/d/old"), 0);
	assert_true(has_pair(&sv, "-netdev", "tap,id=net4,fd=42,vhost=off"));
	assert_true(has_pair(&sv, "-device", "virtio-net-pci,netdev=net4,id=nic4,mac=52:54:00:00:00:0c,bus=hp2"));
	assert_true(has_pair(&sv, "-device", "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:00:00:0a"));
	int port1 = find_arg(&sv, "pcie-root-port,id=hp1,chassis=1", 0);
	assert_true(find_arg(&sv, "virtio-blk-pci,drive=drive-root,id=disk-root,bootindex=1", 0) < port1);
	assert_true(find_arg(&sv, "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:00:00:0a", 0) < port1);
	assert_true(find_arg(&sv, "virtio-blk-pci,drive=drive-d1,id=disk-d1,bus=hp1", 0) > port1);
	strv_free(&sv);
	vm_spec_free(&spec);
	/* Without the root disk, the first disk QEMU has boots. */
	spec_from("{'name':'h','disks':[{'name':'root','size_mib':1,'path':'/d/root','state':'unused'},"
	          "{'name':'d1','size_mib':1,'path':'/d/d1','slot':1}],'hotplug_ports':1}", &spec);
	build(&spec, &l, &sv);
	assert_true(has_pair(&sv, "-device", "virtio-blk-pci,drive=drive-d1,id=disk-d1,bus=hp1,bootindex=1"));
	strv_free(&sv);
	vm_spec_free(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common),       cmocka_unit_test(test_kernel_boot),
		cmocka_unit_test(test_disk_boot),    cmocka_unit_test(test_nics),
		cmocka_unit_test(test_seed),         cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_accel),        cmocka_unit_test(test_cpu_model),
		cmocka_unit_test(test_display),      cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_firmware),
		cmocka_unit_test(test_commas_in_paths), cmocka_unit_test(test_opt_escape),
		cmocka_unit_test(test_large_line),   cmocka_unit_test(test_hotplug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
