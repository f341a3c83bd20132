/* test_vm_spec.c - vm_spec_parse against tables of good and bad specs: every
 * refusal must name the exact field at fault, because that name is what the
 * API hands back to the user. Also the round trip through vm_spec_to_json and
 * the generated values (MACs, tap names). */
#include "testutil.h"

#include "nat_rules.h"
#include "vm_spec.h"

#define DISK "'disks':[{'name':'root','size_mib':1024}]"
#define UUID "0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f60"

struct bad_case {
	const char *json;
	enum vm_spec_source src;
	const char *field;   /* the field the error must name */
	const char *msg;     /* a part of the message, or NULL */
};

#define U VM_SPEC_FROM_USER
#define S VM_SPEC_FROM_STORE

static const struct bad_case bad_cases[] = {
	/* the document and its top level */
	{"[]", U, "body", "JSON object"},
	{"{'name':'a'," DISK ",'colour':'red'}", U, "colour", "unknown field 'colour'"},
	{"{'name':'a'," DISK ",'':1}", U, "body", "unknown field ''"}, /* still named */
	{"{" DISK "}", U, "name", "is required"},
	{"{'name':null," DISK "}", U, "name", "is required"},
	{"{'name':''," DISK "}", U, "name", "not a valid name"},
	{"{'name':'../x'," DISK "}", U, "name", "not a valid name"},
	{"{'name':'a b'," DISK "}", U, "name", "not a valid name"},
	{"{'name':'a/b'," DISK "}", U, "name", "not a valid name"},
	{"{'name':'.hidden'," DISK "}", U, "name", "not a valid name"},
	{"{'name':'-rf'," DISK "}", U, "name", "not a valid name"},
	{"{'name':'a\\u0001'," DISK "}", U, "name", "not a valid name"},
	{"{'name':42," DISK "}", U, "name", "must be a string, not an integer"},
	{"{'name':['a']," DISK "}", U, "name", "must be a string, not an array"},
	{"{'name':'a','uuid':'xyz'," DISK "}", U, "uuid", "not a UUID"},
	{"{'name':'a','uuid':'0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f6g'," DISK "}", U, "uuid", "not a UUID"},
	{"{'name':'a','uuid':'0b9c3c1e00a8e-4c5e-9f4e-1d2c3b4a5f60'," DISK "}", U, "uuid", "not a UUID"},
	{"{'name':'a','uuid':'" UUID "0'," DISK "}", U, "uuid", "at most 36"},
	{"{'name':'a','uuid':7," DISK "}", U, "uuid", "must be a string"},
	{"{'name':'a','vcpus':0," DISK "}", U, "vcpus", "between 1 and 255"},
	{"{'name':'a','vcpus':256," DISK "}", U, "vcpus", "between 1 and 255"},
	{"{'name':'a','vcpus':-1," DISK "}", U, "vcpus", NULL},
	{"{'name':'a','vcpus':'2'," DISK "}", U, "vcpus", "must be an integer, not a string"},
	{"{'name':'a','vcpus':1.5," DISK "}", U, "vcpus", "must be an integer, not a number"},
	{"{'name':'a','vcpus':true," DISK "}", U, "vcpus", "not a boolean"},
	{"{'name':'a','memory_mib':15," DISK "}", U, "memory_mib", "between 16"},
	{"{'name':'a','memory_mib':4194305," DISK "}", U, "memory_mib", "4194304"},
	{"{'name':'a','memory_mib':9223372036854775807," DISK "}", U, "memory_mib", NULL},
	{"{'name':'a','display':'sdl'," DISK "}", U, "display", "'vnc' or 'none'"},
	{"{'name':'a','display':false," DISK "}", U, "display", "must be a string"},
	{"{'name':'a','cpu_model':'host,+vmx'," DISK "}", U, "cpu_model", "not a CPU model name"},
	{"{'name':'a','cpu_model':''," DISK "}", U, "cpu_model", "not a CPU model name"},
	{"{'name':'a','cpu_model':'Skylake Server'," DISK "}", U, "cpu_model", "not a CPU model name"},
	{"{'name':'a','cpu_model':7," DISK "}", U, "cpu_model", "must be a string"},
	{"{'name':'a','watchdog':'ib700'," DISK "}", U, "watchdog", "\"i6300esb\" or null"},
	{"{'name':'a','watchdog':''," DISK "}", U, "watchdog", "\"i6300esb\" or null"},
	{"{'name':'a','watchdog':'i6300esb,id=x'," DISK "}", U, "watchdog", "\"i6300esb\" or null"},
	{"{'name':'a','watchdog':true," DISK "}", U, "watchdog", "\"i6300esb\" or null"},
	{"{'name':'a','watchdog':{}," DISK "}", U, "watchdog", "\"i6300esb\" or null"},
	{"{'name':'a','firmware':'efi'," DISK "}", U, "firmware", "\"bios\" (SeaBIOS) or \"uefi\""},
	{"{'name':'a','firmware':'/usr/share/OVMF/OVMF_CODE.fd'," DISK "}", U, "firmware", "\"bios\""},
	{"{'name':'a','firmware':1," DISK "}", U, "firmware", "\"bios\""},
	{"{'name':'a','firmware':'uefi','boot':{'kernel_image':'k'}}", U, "firmware", "needs a disk"},
	{"{'name':'a','boot_order':'disk'," DISK "}", U, "boot_order", "a list of 1 to 3"},
	{"{'name':'a','boot_order':[]," DISK "}", U, "boot_order", "a list of 1 to 3"},
	{"{'name':'a','boot_order':['disk','net','cdrom','disk']," DISK "}", U, "boot_order", "a list of 1 to 3"},
	{"{'name':'a','boot_order':['disk','floppy']," DISK "}", U, "boot_order[1]", "\"disk\", \"cdrom\" or \"net\""},
	{"{'name':'a','boot_order':['/dev/sda']," DISK "}", U, "boot_order[0]", "\"disk\", \"cdrom\" or \"net\""},
	{"{'name':'a','boot_order':['net','net']," DISK "}", U, "boot_order[1]", "'net' is in the list twice"},
	{"{'name':'a','boot_order':[7]," DISK "}", U, "boot_order[0]", "\"disk\""},
	{"{'name':'a'}", U, "boot", "nothing to boot"},
	{"{'name':'a','cdrom':'/tmp/x.iso'," DISK "}", U, "cdrom", "must be an object"},
	{"{'name':'a','cdrom':{'path':'/etc/shadow'}," DISK "}", U, "cdrom.path", "host paths are not accepted"},
	{"{'name':'a','cdrom':{'image':'/etc/shadow'}," DISK "}", U, "cdrom.image", "not an image id"},
	{"{'name':'a','cdrom':{'image':'../x'}," DISK "}", U, "cdrom.image", "not an image id"},
	{"{'name':'a','cdrom':{'image':7}," DISK "}", U, "cdrom.image", "must be a string"},
	{"{'name':'a','cdrom':{'file':'x'}," DISK "}", U, "cdrom.file", ""},
	{"{'name':'a','disks':[]}", U, "boot", "nothing to boot"},
	{"{'name':'a','boot':{}}", U, "boot", "nothing to boot"},

	/* boot: images by id; a host path from a user is refused by name */
	{"{'name':'a','boot':'/vmlinuz'}", U, "boot", "must be an object, not a string"},
	{"{'name':'a','boot':{'kernel':'/boot/vmlinuz'}}", U, "boot.kernel",
	 "host paths are not accepted"},
	{"{'name':'a','boot':{'kernel':'/etc/shadow','kernel_image':'k'}}", U, "boot.kernel",
	 "host paths are not accepted"},
	{"{'name':'a','boot':{'kernel_image':'k','initrd':'/etc/shadow'}}", U, "boot.initrd",
	 "host paths are not accepted"},
	{"{'name':'a','boot':{'kernel_image':'k','initrd':'/boot/initrd.img'}}", U, "boot.initrd",
	 "boot.initrd_image"}, /* and says what replaced it */
	{"{'name':'a','boot':{'kernel_image':'../x'}}", U, "boot.kernel_image", "not an image id"},
	{"{'name':'a','boot':{'kernel_image':'a/b'}}", U, "boot.kernel_image", "not an image id"},
	{"{'name':'a','boot':{'kernel_image':'/boot/vmlinuz'}}", U, "boot.kernel_image",
	 "never by a host path"},
	{"{'name':'a','boot':{'kernel_image':''}}", U, "boot.kernel_image", "not an image id"},
	{"{'name':'a','boot':{'kernel_image':7}}", U, "boot.kernel_image", "must be a string"},
	{"{'name':'a','boot':{'kernel_image':'k','initrd_image':'../i'}}", U, "boot.initrd_image",
	 "not an image id"},
	{"{'name':'a','boot':{'kernel_image':'k','initrd_image':'a/b'}}", U, "boot.initrd_image",
	 "not an image id"},
	{"{'name':'a','boot':{'initrd_image':'i'}}", U, "boot.kernel_image", "is required"},
	{"{'name':'a','boot':{'cmdline':'quiet'}}", U, "boot.kernel_image", "is required"},
	{"{'name':'a','boot':{'kernel_image':'k','cmdline':'a\\nb'}}", U, "boot.cmdline", "control"},
	{"{'name':'a','boot':{'kernel_image':'k','cmdline':'a\\tb'}}", U, "boot.cmdline", "control"},
	{"{'name':'a','boot':{'kernel_image':'k','cmdline':'a\\u001bb'}}", U, "boot.cmdline",
	 "control"},
	{"{'name':'a','boot':{'kernel_image':'k','cmdline':3}}", U, "boot.cmdline", "must be a string"},
	{"{'name':'a','boot':{'kernel_image':'k','append':'x'}}", U, "boot.append", "unknown field"},
	/* the agent's own store keeps resolved paths, and checks them */
	{"{'name':'a','boot':{'kernel':'vmlinuz'}}", S, "boot.kernel", "absolute path"},
	{"{'name':'a','boot':{'kernel':''}}", S, "boot.kernel", "absolute path"},
	{"{'name':'a','boot':{'kernel':'/boot/../etc/shadow'}}", S, "boot.kernel", "'..'"},
	{"{'name':'a','boot':{'kernel':'/boot/..'}}", S, "boot.kernel", "'..'"},
	{"{'name':'a','boot':{'kernel':'/..'}}", S, "boot.kernel", "'..'"},
	{"{'name':'a','boot':{'initrd':'/initrd'}}", S, "boot.kernel_image", "is required"},
	{"{'name':'a','boot':{'kernel':'/k','initrd':'initrd.img'}}", S, "boot.initrd", "absolute"},
	{"{'name':'a','boot':{'kernel':'/k','initrd':'/a/../b'}}", S, "boot.initrd", "'..'"},
	{"{'name':'a','boot':{'kernel_image':'a/b','kernel':'/k'}}", S, "boot.kernel_image",
	 "not an image id"},

	/* disks */
	{"{'name':'a','disks':{}}", U, "disks", "must be an array, not an object"},
	{"{'name':'a','disks':[1]}", U, "disks[0]", "must be an object"},
	{"{'name':'a','disks':[{'size_mib':1}]}", U, "disks[0].name", "is required"},
	{"{'name':'a','disks':[{'name':'a/b','size_mib':1}]}", U, "disks[0].name", "not a valid name"},
	{"{'name':'a','disks':[{'name':'..','size_mib':1}]}", U, "disks[0].name", "not a valid name"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1},{'name':'root','size_mib':1}]}", U,
	 "disks[1].name", "used by disks[0]"},
	{"{'name':'a','disks':[{'name':'root'}]}", U, "disks[0].size_mib", "blank disk"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1},{'name':'d','size_mib':0}]}", U,
	 "disks[1].size_mib", "between 1"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1},{'name':'d','size_mib':-5}]}", U,
	 "disks[1].size_mib", NULL},
	{"{'name':'a','disks':[{'name':'root','size_mib':67108865}]}", U, "disks[0].size_mib",
	 "67108864"},
	{"{'name':'a','disks':[{'name':'root','size_mib':'10G'}]}", U, "disks[0].size_mib",
	 "must be an integer"},
	/* a disk's source: an image by id, or another VM's disk; never a path */
	{"{'name':'a','disks':[{'name':'root','template':'/etc/shadow'}]}", U, "disks[0].template",
	 "host paths are not accepted"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1},{'name':'d','template':'/x'}]}", U,
	 "disks[1].template", "host paths are not accepted"},
	{"{'name':'a','disks':[{'name':'root','image':'i','template':'/x'}]}", U,
	 "disks[0].template", "the image's id in image"},
	{"{'name':'a','disks':[{'name':'root','image':'../x'}]}", U, "disks[0].image",
	 "not an image id"},
	{"{'name':'a','disks':[{'name':'root','image':'a/b'}]}", U, "disks[0].image",
	 "not an image id"},
	{"{'name':'a','disks':[{'name':'root','image':'/var/lib/vdc/x.qcow2'}]}", U,
	 "disks[0].image", "never by a host path"},
	{"{'name':'a','disks':[{'name':'root','image':''}]}", U, "disks[0].image",
	 "not an image id"},
	{"{'name':'a','disks':[{'name':'root','image':['i']}]}", U, "disks[0].image",
	 "must be a string"},
	{"{'name':'a','disks':[{'name':'root','image':'i','source_vm':'b'}]}", U,
	 "disks[0].source_vm", "image or source_vm, not both"},
	{"{'name':'a','disks':[{'name':'root','source_disk':'root'}]}", U, "disks[0].source_disk",
	 "needs source_vm"},
	{"{'name':'a','disks':[{'name':'root','image':'i','source_disk':'root'}]}", U,
	 "disks[0].source_disk", "needs source_vm"},
	{"{'name':'a','disks':[{'name':'root','source_vm':'../b'}]}", U, "disks[0].source_vm",
	 "not a valid name"},
	{"{'name':'a','disks':[{'name':'root','source_vm':'b','source_disk':'a/b'}]}", U,
	 "disks[0].source_disk", "not a valid name"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'copy':true}]}", U, "disks[0].copy",
	 "needs an image (or source_vm)"},
	{"{'name':'a','disks':[{'name':'root','copy':true}]}", U, "disks[0].copy", "needs an image"},
	{"{'name':'a','disks':[{'name':'root','image':'i','copy':1}]}", U, "disks[0].copy",
	 "true or false"},
	{"{'name':'a','disks':[{'name':'root','template':'img.qcow2'}]}", S, "disks[0].template",
	 "absolute"},
	{"{'name':'a','disks':[{'name':'root','template':'/t/../../etc/passwd'}]}", S,
	 "disks[0].template", "'..'"},
	{"{'name':'a','disks':[{'name':'root','image':'../x','template':'/t.img'}]}", S,
	 "disks[0].image", "not an image id"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'datastore':'../x'}]}", U,
	 "disks[0].datastore", "not a valid name"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'datastore':''}]}", U,
	 "disks[0].datastore", "not a valid name"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'bus':'ide'}]}", U, "disks[0].bus",
	 "unknown field"},
	/* agent-owned fields come only from the agent's own store */
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'path':'/var/x.qcow2'}]}", U,
	 "disks[0].path", "unknown field"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'template_format':'raw'}]}", U,
	 "disks[0].template_format", "unknown field"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'path':'x.qcow2'}]}", S, "disks[0].path",
	 "absolute"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'path':'/a/../x'}]}", S, "disks[0].path",
	 "'..'"},
	{"{'name':'a','disks':[{'name':'root','size_mib':1,'template_format':'qcow2-but-longer'}]}",
	 S, "disks[0].template_format", "at most 15"},
	{"{'name':'a'," DISK ",'identity':{'uid':200000,'gid':200000}}", U, "identity",
	 "unknown field"},
	{"{'name':'a'," DISK ",'identity':{'uid':0,'gid':200000}}", S, "identity.uid", NULL},
	{"{'name':'a'," DISK ",'identity':{'uid':200000}}", S, "identity.gid", NULL},
	{"{'name':'a'," DISK ",'identity':{'uid':1,'gid':1,'groups':[0]}}", S, "identity.groups",
	 "unknown field"},

	/* nics */
	{"{'name':'a'," DISK ",'nics':'br0'}", U, "nics", "must be an array"},
	{"{'name':'a'," DISK ",'nics':['br0']}", U, "nics[0]", "must be an object"},
	{"{'name':'a'," DISK ",'nics':[{}]}", U, "nics[0].mode", "'bridge', 'nat' or 'user'"},
	{"{'name':'a'," DISK ",'nics':[{'mode':'bridge'}]}", U, "nics[0].bridge", "is required"},
	{"{'name':'a'," DISK ",'nics':[{'mode':'tap','bridge':'br0'}]}", U, "nics[0].mode",
	 "'bridge', 'nat' or 'user'"},
	{"{'name':'a'," DISK ",'nics':[{'mode':'nat','bridge':'br0'}]}", U, "nics[0].mode",
	 "takes no bridge"},
	{"{'name':'a'," DISK ",'nics':[{'mode':'NAT'}]}", U, "nics[0].mode", "not 'NAT'"},
	{"{'name':'a'," DISK ",'nics':[{'mode':'user','bridge':'br0'}]}", U, "nics[0].mode",
	 "no bridge"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br 0'}]}", U, "nics[0].bridge", "interface name"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br/0'}]}", U, "nics[0].bridge", "interface name"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':''}]}", U, "nics[0].bridge", "interface name"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'abcdefghijklmnop'}]}", U, "nics[0].bridge",
	 "at most 15"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','vlan':5}]}", U, "nics[0].vlan",
	 "unknown field"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','mac':'01:00:5e:00:00:01'}]}", U,
	 "nics[0].mac", "unicast"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','mac':'ff:ff:ff:ff:ff:ff'}]}", U,
	 "nics[0].mac", "unicast"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','mac':'52:54:00:12:34'}]}", U, "nics[0].mac",
	 "unicast"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','mac':'52-54-00-12-34-56'}]}", U,
	 "nics[0].mac", "unicast"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','mac':'52:54:00:12:34:5g'}]}", U,
	 "nics[0].mac", "unicast"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','mac':'52:54:00:12:34:567'}]}", U,
	 "nics[0].mac", "at most 17"},
	{"{'name':'a'," DISK ",'nics':[{'mode':'user','mac':'52:54:00:12:34:56'},"
	 "{'bridge':'br0','mac':'52:54:00:12:34:56'}]}", U, "nics[1].mac", "used by nics[0]"},
	{"{'name':'a'," DISK ",'nics':[{'mode':'user','mac':'52:54:00:ab:cd:ef'},"
	 "{'mode':'user'},{'bridge':'br0','mac':'52:54:00:AB:CD:EF'}]}", U, "nics[2].mac",
	 "used by nics[0]"},

	/* cloud_init */
	{"{'name':'a'," DISK ",'cloud_init':'#cloud-config'}", U, "cloud_init", "must be an object"},
	{"{'name':'a'," DISK ",'cloud_init':{'user_data':5}}", U, "cloud_init.user_data",
	 "must be a string"},
	{"{'name':'a'," DISK ",'cloud_init':{'vendor_data':''}}", U, "cloud_init.vendor_data",
	 "unknown field"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':'x: y'}}", U, "cloud_init.meta_data",
	 "must be an object, not a string"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':[1]}}", U, "cloud_init.meta_data",
	 "must be an object, not an array"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':{'tags':['a']}}}", U,
	 "cloud_init.meta_data.tags", "string, integer or boolean"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':{'x':null}}}", U,
	 "cloud_init.meta_data.x", "string, integer or boolean"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':{'x':1.5}}}", U,
	 "cloud_init.meta_data.x", "string, integer or boolean"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':{'a b':'x'}}}", U,
	 "cloud_init.meta_data.a b", "letters, digits"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':{'a:b':'x'}}}", U,
	 "cloud_init.meta_data.a:b", "letters, digits"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':{'':'x'}}}", U,
	 "cloud_init.meta_data.", "letters, digits"},
	{"{'name':'a'," DISK ",'cloud_init':{'meta_data':{'k':'a\\nb: c'}}}", U,
	 "cloud_init.meta_data.k", "control"},
	{"{'name':'a'," DISK ",'cloud_init':{'network_config':{}}}", U, "cloud_init.network_config",
	 "must be a string"},

	/* resources */
	{"{'name':'a'," DISK ",'resources':[]}", U, "resources", "must be an object"},
	{"{'name':'a'," DISK ",'resources':{'io_weight':1}}", U, "resources.io_weight",
	 "unknown field"},
	{"{'name':'a'," DISK ",'resources':{'cpu_weight':0}}", U, "resources.cpu_weight",
	 "between 1 and 10000"},
	{"{'name':'a'," DISK ",'resources':{'cpu_weight':10001}}", U, "resources.cpu_weight", NULL},
	{"{'name':'a'," DISK ",'resources':{'cpu_limit_pct':-1}}", U, "resources.cpu_limit_pct",
	 NULL},
	{"{'name':'a'," DISK ",'resources':{'cpu_limit_pct':25501}}", U, "resources.cpu_limit_pct",
	 "25500"},
	{"{'name':'a','memory_mib':1024," DISK ",'resources':{'memory_limit_mib':1023}}", U,
	 "resources.memory_limit_mib", "below the VM's memory"},
	{"{'name':'a'," DISK ",'resources':{'memory_limit_mib':-1}}", U,
	 "resources.memory_limit_mib", NULL},
	{"{'name':'a'," DISK ",'resources':{'memory_limit_mib':'1G'}}", U,
	 "resources.memory_limit_mib", "must be an integer"},

	/* pool: the chain of resource pools, root first */
	{"{'name':'a'," DISK ",'pool':{'name':'prod'}}", U, "pool", "must be an array"},
	{"{'name':'a'," DISK ",'pool':'prod'}", U, "pool", "must be an array"},
	{"{'name':'a'," DISK ",'pool':[{'name':'a'},{'name':'b'},{'name':'c'},{'name':'d'},"
	 "{'name':'e'},{'name':'f'},{'name':'g'}]}", U, "pool", "at most 6 deep"},
	{"{'name':'a'," DISK ",'pool':['prod']}", U, "pool[0]", "must be an object"},
	{"{'name':'a'," DISK ",'pool':[{}]}", U, "pool[0].name", "is required"},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod'},{'name':'web/x'}]}", U, "pool[1].name",
	 "not a valid pool name"},
	{"{'name':'a'," DISK ",'pool':[{'name':'pool:x'}]}", U, "pool[0].name", "not a valid pool name"},
	{"{'name':'a'," DISK ",'pool':[{'name':'..'}]}", U, "pool[0].name", "not a valid pool name"},
	{"{'name':'a'," DISK ",'pool':[{'name':''}]}", U, "pool[0].name", "not a valid pool name"},
	{"{'name':'a'," DISK ",'pool':[{'name':7}]}", U, "pool[0].name", "must be a string"},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod'},{'name':'web','cpu_wight':200}]}", U,
	 "pool[1].cpu_wight", "unknown field 'cpu_wight'"},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod','cpu_weight':0}]}", U, "pool[0].cpu_weight",
	 "between 1 and 10000"},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod','cpu_weight':10001}]}", U, "pool[0].cpu_weight",
	 NULL},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod','cpu_limit_pct':-1}]}", U, "pool[0].cpu_limit_pct",
	 NULL},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod','cpu_limit_pct':1632001}]}", U,
	 "pool[0].cpu_limit_pct", "1632000"},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod','memory_limit_mib':-1}]}", U,
	 "pool[0].memory_limit_mib", NULL},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod','memory_reservation_mib':'1G'}]}", U,
	 "pool[0].memory_reservation_mib", "must be an integer"},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod','memory_limit_mib':2048,"
	 "'memory_reservation_mib':4096}]}", U, "pool[0].memory_reservation_mib", "above the pool's"},
	{"{'name':'a','memory_mib':1024," DISK ",'pool':[{'name':'prod'},{'name':'small',"
	 "'memory_limit_mib':512}]}", U, "pool[1].memory_limit_mib", "below the VM's memory"},
	{"{'name':'a'," DISK ",'pool':[{'name':'prod'}],'pools':[]}", U, "pools", "unknown field"},
	{"{'name':'a'," DISK ",'pool':[{'name':'p','cpu_weight':0}]}", S, "pool[0].cpu_weight", NULL},
	/* Hot-plug: a port is one device's, a state one of the four, a NIC's id its own. */
	{"{'name':'a','disks':[{'name':'r','size_mib':1,'slot':2},{'name':'d','size_mib':1,'slot':2}]}", U,
	 "disks[1].slot", "used by disks[0]"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','slot':1},{'bridge':'br0','id':3,'slot':1}]}", U,
	 "nics[1].slot", "used by nics[0]"},
	{"{'name':'a','disks':[{'name':'r','size_mib':1,'slot':25}]}", U, "disks[0].slot", NULL},
	{"{'name':'a','disks':[{'name':'r','size_mib':1,'state':'gone'}]}", U, "disks[0].state", "'unused'"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','state':'unused'}]}", U, "nics[0].state", NULL},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0'},{'bridge':'br0','id':0}]}", U, "nics[1].id", "used by nics[0]"},
	{"{'name':'a'," DISK ",'nics':[{'bridge':'br0','id':64}]}", U, "nics[0].id", NULL},
	{"{'name':'a'," DISK ",'hotplug_ports':25}", U, "hotplug_ports", NULL},
};

static void test_bad_specs(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		json_t *j = tu_json(c->json);
		struct vm_spec spec;
		struct jv_err err = {0};
		int rc = vm_spec_parse(j, c->src, &spec, &err);
		if (rc != -1 || strcmp(err.field, c->field) != 0 ||
		    (c->msg && !strstr(err.message, c->msg)) || !err.message[0])
			fail_msg("case %zu %s: rc=%d field='%s' (want '%s') message='%s' (want '%s')", i,
			         c->json, rc, err.field, c->field, err.message, c->msg ? c->msg : "");
		vm_spec_free(&spec);
		json_decref(j);
	}
}

/* Expects vm_spec_parse(j) to fail naming field; frees everything. */
static void expect_bad(json_t *j, enum vm_spec_source src, const char *field, const char *msg)
{
	struct vm_spec spec;
	struct jv_err err = {0};
	assert_int_equal(vm_spec_parse(j, src, &spec, &err), -1);
	assert_string_equal(err.field, field);
	if (msg)
		assert_non_null(strstr(err.message, msg));
	vm_spec_free(&spec);
	json_decref(j);
}

static void test_lengths_and_counts(void **state)
{
	char n63[64], n64[65];
	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'b', 64);
	n64[64] = '\0';

	/* 63 is the longest name; 64 is refused at the top level and for disks. */
	json_t *j = json_pack("{s:s, s:[{s:s, s:i}]}", "name", n63, "disks", "name", n63, "size_mib", 1);
	struct vm_spec spec;
	struct jv_err err = {0};
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_string_equal(spec.name, n63);
	assert_string_equal(spec.disks[0].name, n63);
	vm_spec_free(&spec);
	json_decref(j);
	expect_bad(json_pack("{s:s, s:[{s:s, s:i}]}", "name", n64, "disks", "name", "r", "size_mib", 1),
	           VM_SPEC_FROM_USER, "name", "at most 63");
	expect_bad(json_pack("{s:s, s:[{s:s, s:i}]}", "name", "a", "disks", "name", n64, "size_mib", 1),
	           VM_SPEC_FROM_USER, "disks[0].name", "at most 63");
	expect_bad(json_pack("{s:s, s:[{s:s, s:i, s:s}]}", "name", "a", "disks", "name", "r",
	                     "size_mib", 1, "datastore", n64),
	           VM_SPEC_FROM_USER, "disks[0].datastore", "at most 63");
	/* Image ids are names: 63 at most as well. */
	expect_bad(json_pack("{s:s, s:{s:s}}", "name", "a", "boot", "kernel_image", n64),
	           VM_SPEC_FROM_USER, "boot.kernel_image", "at most 63");
	expect_bad(json_pack("{s:s, s:{s:s, s:s}}", "name", "a", "boot", "kernel_image", "k",
	                     "initrd_image", n64),
	           VM_SPEC_FROM_USER, "boot.initrd_image", "at most 63");
	expect_bad(json_pack("{s:s, s:[{s:s, s:s}]}", "name", "a", "disks", "name", "r", "image", n64),
	           VM_SPEC_FROM_USER, "disks[0].image", "at most 63");
	expect_bad(json_pack("{s:s, s:[{s:s, s:s}]}", "name", "a", "disks", "name", "r", "source_vm",
	                     n64),
	           VM_SPEC_FROM_USER, "disks[0].source_vm", "at most 63");
	j = json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:s}]}", "name", "a", "boot", "kernel_image", n63,
	              "initrd_image", n63, "disks", "name", "r", "image", n63);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_string_equal(spec.kernel_image, n63);
	assert_string_equal(spec.initrd_image, n63);
	assert_string_equal(spec.disks[0].image, n63);
	vm_spec_free(&spec);
	json_decref(j);

	/* 16 disks are allowed, 17 are not. */
	json_t *disks = json_array();
	for (int i = 0; i < VM_MAX_DISKS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "d%d", i);
		json_array_append_new(disks, json_pack("{s:s, s:i}", "name", name, "size_mib", 1));
	}
	j = json_pack("{s:s, s:O}", "name", "a", "disks", disks);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_int_equal(spec.ndisks, VM_MAX_DISKS);
	vm_spec_free(&spec);
	json_decref(j);
	json_array_append_new(disks, json_pack("{s:s, s:i}", "name", "extra", "size_mib", 1));
	expect_bad(json_pack("{s:s, s:o}", "name", "a", "disks", disks), VM_SPEC_FROM_USER, "disks",
	           "at most 16");

	/* 8 NICs are allowed, 9 are not. */
	json_t *nics = json_array();
	for (int i = 0; i < VM_MAX_NICS; i++)
		json_array_append_new(nics, json_pack("{s:s}", "mode", "user"));
	j = json_pack("{s:s, s:[{s:s, s:i}], s:O}", "name", "a", "disks", "name", "r", "size_mib", 1,
	              "nics", nics);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_int_equal(spec.nnics, VM_MAX_NICS);
	vm_spec_free(&spec);
	json_decref(j);
	json_array_append_new(nics, json_pack("{s:s}", "mode", "user"));
	expect_bad(json_pack("{s:s, s:[{s:s, s:i}], s:o}", "name", "a", "disks", "name", "r",
	                     "size_mib", 1, "nics", nics),
	           VM_SPEC_FROM_USER, "nics", "at most 8");

	/* Paths and the kernel command line are bounded. */
	char *longpath = malloc(1026);
	assert_non_null(longpath);
	longpath[0] = '/';
	memset(longpath + 1, 'p', 1024);
	longpath[1025] = '\0';
	expect_bad(json_pack("{s:s, s:{s:s}}", "name", "a", "boot", "kernel", longpath),
	           VM_SPEC_FROM_STORE, "boot.kernel", "at most 1024");
	free(longpath);
	char *cmdline = malloc(4098);
	assert_non_null(cmdline);
	memset(cmdline, 'c', 4097);
	cmdline[4097] = '\0';
	expect_bad(json_pack("{s:s, s:{s:s, s:s}}", "name", "a", "boot", "kernel_image", "k",
	                     "cmdline", cmdline),
	           VM_SPEC_FROM_USER, "boot.cmdline", "at most 4096");
	free(cmdline);
	char *ud = malloc(VM_MAX_USER_DATA + 2);
	assert_non_null(ud);
	memset(ud, 'u', VM_MAX_USER_DATA + 1);
	ud[VM_MAX_USER_DATA + 1] = '\0';
	expect_bad(json_pack("{s:s, s:{s:s}, s:{s:s}}", "name", "a", "boot", "kernel_image", "k",
	                     "cloud_init", "user_data", ud),
	           VM_SPEC_FROM_USER, "cloud_init.user_data", "at most 65536");
	free(ud);
}

/* NUL inside a JSON string cannot reach C strings unnoticed. */
static void test_embedded_nul(void **state)
{
	json_t *j = json_pack("{s:s, s:{s:s%}}", "name", "a", "boot", "kernel_image", "k\0x", (size_t)3);
	expect_bad(j, VM_SPEC_FROM_USER, "boot.kernel_image", "NUL");
	j = json_pack("{s:s, s:[{s:s, s:s%}]}", "name", "a", "disks", "name", "r", "image", "i\0/x",
	              (size_t)4);
	expect_bad(j, VM_SPEC_FROM_USER, "disks[0].image", "NUL");
	j = json_pack("{s:s, s:{s:s%}}", "name", "a", "boot", "kernel", "/k\0/x", (size_t)5);
	expect_bad(j, VM_SPEC_FROM_STORE, "boot.kernel", "NUL");
}

static void test_good_minimal(void **state)
{
	json_t *j = tu_json("{'name':'web-1'," DISK "}");
	struct vm_spec spec;
	struct jv_err err = {0};
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_string_equal(err.field, "");
	assert_string_equal(spec.name, "web-1");
	assert_string_equal(spec.uuid, "");
	assert_int_equal(spec.vcpus, 1);
	assert_int_equal(spec.memory_mib, 512);
	assert_true(spec.vnc);
	assert_null(spec.kernel);
	assert_int_equal(spec.ndisks, 1);
	assert_string_equal(spec.disks[0].name, "root");
	assert_int_equal(spec.disks[0].size_mib, 1024);
	assert_null(spec.disks[0].template_path);
	assert_null(spec.disks[0].path);
	assert_int_equal(spec.nnics, 0);
	assert_false(spec.has_cloud_init);
	assert_int_equal(spec.cpu_weight, 100);
	assert_int_equal(spec.cpu_limit_pct, 0);
	assert_int_equal(spec.memory_limit_mib, 0);
	vm_spec_free(&spec);
	json_decref(j);
}

static void test_good_full(void **state)
{
	json_t *j = tu_json(
	    "{'name':'db.1','uuid':'0B9C3C1E-0A8E-4C5E-9F4E-1D2C3B4A5F60','vcpus':255,"
	    "'memory_mib':4194304,'display':'none',"
	    "'boot':{'kernel_image':'deb-12.k','initrd_image':'deb-12_i','cmdline':'console=ttyS0 root=/dev/vda'},"
	    "'disks':[{'name':'root','image':'deb-12'},"
	    "{'name':'data','size_mib':67108864,'datastore':'fast'},"
	    "{'name':'logs','source_vm':'db.0','source_disk':'data'},{'name':'data2','source_vm':'db.0',"
	    "'copy':false},{'name':'full','image':'deb-12','copy':true,'size_mib':2048}],"
	    "'nics':[{'bridge':'br0'},{'mode':'user','mac':'02:00:00:00:00:01'},"
	    "{'mode':'bridge','bridge':'vmbr0.100'},{'mode':'nat'}],"
	    "'cloud_init':{'user_data':'#cloud-config\\n','network_config':'version: 2\\n',"
	    "'meta_data':{'role':'db','shard':3,'primary':true}},"
	    "'resources':{'cpu_weight':10000,'cpu_limit_pct':25500,'memory_limit_mib':8388608}}");
	struct vm_spec spec;
	struct jv_err err = {0};
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_string_equal(spec.uuid, "0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f60"); /* lower-cased */
	assert_int_equal(spec.vcpus, 255);
	assert_int_equal(spec.memory_mib, 4194304);
	assert_false(spec.vnc);
	assert_string_equal(spec.kernel_image, "deb-12.k");
	assert_string_equal(spec.initrd_image, "deb-12_i");
	/* Files are the agent's to find at define, never the caller's to name. */
	assert_null(spec.kernel);
	assert_null(spec.initrd);
	assert_string_equal(spec.cmdline, "console=ttyS0 root=/dev/vda");
	assert_int_equal(spec.ndisks, 5);
	assert_string_equal(spec.disks[0].image, "deb-12");
	assert_null(spec.disks[0].template_path);
	assert_false(spec.disks[0].copy); /* a linked clone of the image */
	assert_int_equal(spec.disks[0].size_mib, 0);
	assert_string_equal(spec.disks[1].datastore, "fast");
	assert_int_equal(spec.disks[1].size_mib, VM_MAX_DISK_MIB);
	assert_string_equal(spec.disks[1].image, "");
	assert_string_equal(spec.disks[2].source_vm, "db.0");
	assert_string_equal(spec.disks[2].source_disk, "data");
	assert_true(spec.disks[2].copy); /* another VM's disk is always copied */
	assert_string_equal(spec.disks[3].source_disk, "data2"); /* default: the same name */
	assert_true(spec.disks[3].copy); /* even when copy:false is asked */
	assert_true(spec.disks[4].copy);
	assert_int_equal(spec.disks[4].size_mib, 2048);
	assert_int_equal(spec.nnics, 4);
	assert_false(spec.nics[0].user_mode);
	assert_false(spec.nics[0].nat);
	assert_string_equal(spec.nics[0].bridge, "br0");
	assert_string_equal(spec.nics[0].mac, "");
	assert_true(spec.nics[1].user_mode);
	assert_string_equal(spec.nics[1].mac, "02:00:00:00:00:01");
	assert_string_equal(spec.nics[2].bridge, "vmbr0.100");
	assert_false(spec.nics[2].nat);
	/* A NAT NIC joins the host's NAT bridge, whatever the host calls it. */
	assert_true(spec.nics[3].nat);
	assert_false(spec.nics[3].user_mode);
	assert_string_equal(spec.nics[3].bridge, NAT_BRIDGE);
	assert_true(spec.has_cloud_init);
	assert_string_equal(spec.user_data, "#cloud-config\n");
	assert_string_equal(spec.network_config, "version: 2\n");
	assert_int_equal(json_integer_value(json_object_get(spec.meta_data, "shard")), 3);
	assert_int_equal(spec.cpu_weight, 10000);
	assert_int_equal(spec.cpu_limit_pct, 25500);
	assert_int_equal(spec.memory_limit_mib, 8388608);
	vm_spec_free(&spec);
	json_decref(j);
}

/* Specs that must be accepted, one property each. */
static const char *const good_specs[] = {
	"{'name':'k','boot':{'kernel_image':'vmlinuz'}}",           /* kernel only */
	"{'name':'k','boot':{'kernel_image':'a..b..c'}}",           /* dots, not a path */
	"{'name':'k','boot':{'kernel_image':'k','initrd_image':'k'}}",
	"{'name':'k','boot':{'kernel_image':'k'},'disks':[{'name':'r','image':'i','size_mib':64}]}",
	"{'name':'k','disks':[{'name':'r','image':'i','copy':true}]}",
	"{'name':'k','disks':[{'name':'r','image':'i','copy':false}]}",
	"{'name':'k','disks':[{'name':'r','source_vm':'other'}]}",
	"{'name':'k','disks':[{'name':'r','source_vm':'other','source_disk':'d','copy':true}]}",
	"{'name':'0'," DISK "}",                                    /* digit first */
	"{'name':'A_b-c.d'," DISK "}",
	"{'name':'a','vcpus':null,'memory_mib':null," DISK "}",     /* null = absent */
	"{'name':'a','memory_mib':16," DISK "}",
	"{'name':'a','display':'vnc'," DISK "}",
	"{'name':'a','cpu_model':'Skylake-Server-v4'," DISK "}",
	"{'name':'a','watchdog':'i6300esb'," DISK "}",
	"{'name':'a','watchdog':null," DISK "}",                    /* null = none */
	"{'name':'a','firmware':'uefi','boot_order':['cdrom','disk','net']," DISK "}",
	"{'name':'a','firmware':null,'boot_order':null," DISK "}",  /* null = the defaults */
	"{'name':'a','cdrom':{'image':'debian-12.iso'},'boot_order':['cdrom','disk']," DISK "}",
	"{'name':'a','cdrom':{}," DISK "}",                         /* an empty drive */
	"{'name':'a','cdrom':{'image':null}," DISK "}",
	"{'name':'a','cdrom':null," DISK "}",                       /* no drive */
	"{'name':'a','cdrom':{'image':'inst'}}",                    /* a live CD, no disk */
	"{'name':'a','memory_mib':1024,'resources':{'memory_limit_mib':1024}," DISK "}",
	"{'name':'a','resources':{'memory_limit_mib':0,'cpu_limit_pct':0}," DISK "}",
	"{'name':'a','resources':{}," DISK "}",
	"{'name':'a','cloud_init':{}," DISK "}",
	"{'name':'a','nics':[]," DISK "}",
	"{'name':'a','nics':[{'mode':'user','mac':'52:54:00:00:00:01'},"
	"{'mode':'user','mac':'52:54:00:00:00:02'}]," DISK "}",
	"{'name':'a','boot':{'kernel_image':'k','cmdline':'é ünïcode ok'}}",
	"{'name':'a','pool':[]," DISK "}",                          /* in no pool */
	"{'name':'a','pool':null," DISK "}",
	"{'name':'a','pool':[{'name':'prod'}]," DISK "}",           /* defaults for the rest */
	"{'name':'a','pool':[{'name':'a'},{'name':'b'},{'name':'c'},{'name':'d'},{'name':'e'},"
	"{'name':'f'}]," DISK "}",                                  /* six deep */
	"{'name':'a','pool':[{'name':'web'},{'name':'web'}]," DISK "}", /* a name again, below */
	"{'name':'a','memory_mib':512,'pool':[{'name':'p','memory_limit_mib':512,"
	"'memory_reservation_mib':512,'cpu_limit_pct':1632000,'cpu_weight':10000}]," DISK "}",
	"{'name':'a','pool':[{'name':'p','memory_reservation_mib':4096}]," DISK "}", /* no limit */
};

/* A chain of two levels: each value where it belongs, defaults filled. */
static void test_pool_chain(void **state)
{
	json_t *j = tu_json("{'name':'a','memory_mib':1024," DISK ",'pool':[{'name':'prod','cpu_weight':200,"
	                    "'memory_limit_mib':2048,'memory_reservation_mib':1024},"
	                    "{'name':'web','cpu_limit_pct':50}]}");
	struct vm_spec spec;
	struct jv_err err = {0};
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_int_equal(spec.pool.n, 2);
	assert_string_equal(spec.pool.level[0].name, "prod");
	assert_int_equal(spec.pool.level[0].cpu_weight, 200);
	assert_int_equal(spec.pool.level[0].cpu_limit_pct, 0);
	assert_int_equal(spec.pool.level[0].memory_limit_mib, 2048);
	assert_int_equal(spec.pool.level[0].memory_reservation_mib, 1024);
	assert_string_equal(spec.pool.level[1].name, "web");
	assert_int_equal(spec.pool.level[1].cpu_weight, 100);
	assert_int_equal(spec.pool.level[1].cpu_limit_pct, 50);
	assert_int_equal(spec.pool.level[1].memory_limit_mib, 0);
	assert_int_equal(spec.pool.level[1].memory_reservation_mib, 0);
	/* Written back whole, every key given: what GET shows and a
	 * migration's receiver is given. */
	json_t *out = vm_spec_to_json(&spec, false);
	json_t *want = tu_json("[{'name':'prod','cpu_weight':200,'cpu_limit_pct':0,'memory_limit_mib':2048,"
	                       "'memory_reservation_mib':1024},{'name':'web','cpu_weight':100,"
	                       "'cpu_limit_pct':50,'memory_limit_mib':0,'memory_reservation_mib':0}]");
	assert_true(json_equal(json_object_get(out, "pool"), want));
	vm_spec_free(&spec);
	json_decref(want);
	json_decref(out);
	json_decref(j);
	/* In no pool, the key is left out. */
	j = tu_json("{'name':'a','pool':[]," DISK "}");
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), 0);
	assert_int_equal(spec.pool.n, 0);
	out = vm_spec_to_json(&spec, true);
	assert_null(json_object_get(out, "pool"));
	vm_spec_free(&spec);
	json_decref(out);
	json_decref(j);
}

static void test_good_specs(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(good_specs); i++) {
		json_t *j = tu_json(good_specs[i]);
		struct vm_spec spec;
		struct jv_err err = {0};
		if (vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err) != 0)
			fail_msg("case %zu %s: refused: %s: %s", i, good_specs[i], err.field, err.message);
		vm_spec_free(&spec);
		json_decref(j);
	}
}

/* The agent's own store may carry the fields users may not set: the files
 * it resolved images to. The same document from a user is refused, naming
 * the first path it holds. */
static void test_store_fields(void **state)
{
	json_t *j = tu_json("{'name':'a','uuid':'" UUID "','boot':{'kernel_image':'k',"
	                    "'initrd_image':'i','kernel':'/ds/images/k','initrd':'/ds/images/i'},"
	                    "'disks':[{'name':'root','image':'deb','template':'/ds/images/deb',"
	                    "'template_format':'raw','path':'/var/lib/vdc/local/a/root.qcow2'}]}");
	struct vm_spec spec;
	struct jv_err err = {0};
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_STORE, &spec, &err), 0);
	assert_string_equal(spec.kernel_image, "k");
	assert_string_equal(spec.kernel, "/ds/images/k");
	assert_string_equal(spec.initrd, "/ds/images/i");
	assert_string_equal(spec.disks[0].image, "deb");
	assert_string_equal(spec.disks[0].template_path, "/ds/images/deb");
	assert_string_equal(spec.disks[0].template_format, "raw");
	assert_string_equal(spec.disks[0].path, "/var/lib/vdc/local/a/root.qcow2");
	vm_spec_free(&spec);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), -1);
	assert_string_equal(err.field, "boot.kernel");
	assert_non_null(strstr(err.message, "host paths are not accepted"));
	vm_spec_free(&spec);
	json_object_del(json_object_get(j, "boot"), "kernel");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), -1);
	assert_string_equal(err.field, "boot.initrd");
	vm_spec_free(&spec);
	json_object_del(json_object_get(j, "boot"), "initrd");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), -1);
	assert_string_equal(err.field, "disks[0].template");
	assert_non_null(strstr(err.message, "host paths are not accepted"));
	vm_spec_free(&spec);
	json_object_del(json_array_get(json_object_get(j, "disks"), 0), "template");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_spec_parse(j, VM_SPEC_FROM_USER, &spec, &err), -1);
	assert_string_equal(err.field, "disks[0].template_format");
	vm_spec_free(&spec);
	json_decref(j);
}

/* The first error is the one reported, even when later checks fail too. */
static void test_first_error_wins(void **state)
{
	json_t *j = tu_json("{'name':'a','vcpus':0,'memory_mib':1,'disks':[{'name':'../x'}]}");
	expect_bad(j, VM_SPEC_FROM_USER, "vcpus", NULL);
}

static void fill(struct vm_spec *spec, const char *uuid)
{
	if (!spec->uuid[0])
		snprintf(spec->uuid, sizeof(spec->uuid), "%s", uuid);
	vm_spec_fill_defaults(spec, "local");
}

static const char *const roundtrip_specs[] = {
	"{'name':'a'," DISK "}",
	"{'name':'k','display':'none','boot':{'kernel_image':'k','initrd_image':'i','cmdline':'x=1 y'}}",
	"{'name':'h','hotplug_ports':5,'disks':[{'name':'root','size_mib':8,'state':'pending_remove',"
	"'delete_on_remove':true},{'name':'d1','size_mib':8,'slot':1},{'name':'d2','size_mib':8,'state':'unused'},"
	"{'name':'d3','size_mib':8,'slot':5,'state':'pending_add'}],"
	"'nics':[{'bridge':'br0'},{'bridge':'br0','id':3,'slot':2,'state':'pending_remove'}]}",
	"{'name':'s','disks':[{'name':'root','source_vm':'other'},"
	"{'name':'d','source_vm':'other','source_disk':'root'},{'name':'c','image':'i','copy':true}]}",
	"{'name':'full','vcpus':4,'memory_mib':2048,"
	"'disks':[{'name':'root','image':'deb-12','size_mib':20480},"
	"{'name':'data','size_mib':10,'datastore':'fast'}],"
	"'nics':[{'bridge':'br0'},{'mode':'user'},{'bridge':'br1','mac':'52:54:00:AA:BB:CC'},"
	"{'mode':'nat'}],"
	"'cloud_init':{'user_data':'#cloud-config\\npackages: [nginx]\\n',"
	"'meta_data':{'role':'web','n':2,'b':false},'network_config':'version: 2'},"
	"'resources':{'cpu_weight':50,'cpu_limit_pct':150,'memory_limit_mib':4096}}",
	"{'name':'ci','cloud_init':{}," DISK "}",
	"{'name':'wd','watchdog':'i6300esb'," DISK "}",
	"{'name':'fw','firmware':'uefi','boot_order':['net','disk']," DISK "}",
	"{'name':'fb','firmware':'bios'," DISK "}",
	"{'name':'cd','cdrom':{'image':'inst'},'boot_order':['cdrom','disk']," DISK "}",
	"{'name':'ce','cdrom':{}," DISK "}",
	"{'name':'p','memory_mib':256,'pool':[{'name':'prod','cpu_weight':200,'memory_limit_mib':2048,"
	"'memory_reservation_mib':512},{'name':'web','cpu_limit_pct':50}]," DISK "}",
	"{'name':'u','uuid':'" UUID "','nics':[{'mode':'user'},{'mode':'user'},{'mode':'user'},"
	"{'mode':'user'},{'mode':'user'},{'mode':'user'},{'mode':'user'},{'mode':'user'}]," DISK "}",
};

/* parse -> fill -> to_json(with paths) -> parse(store) -> to_json gives the
 * same document: what the agent persists is what it reads back on restart. */
static void test_round_trip(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(roundtrip_specs); i++) {
		json_t *j = tu_json(roundtrip_specs[i]);
		struct vm_spec a, b;
		struct jv_err err = {0};
		if (vm_spec_parse(j, VM_SPEC_FROM_USER, &a, &err) != 0)
			fail_msg("case %zu: %s: %s", i, err.field, err.message);
		fill(&a, "11111111-2222-3333-4444-555555555555");
		/* What the agent fills at define time must survive as well: the
		 * files it resolved the images (or source disks) to. */
		char p[160];
		if (a.kernel_image[0]) {
			snprintf(p, sizeof(p), "/var/lib/vdc/local/images/%s", a.kernel_image);
			a.kernel = strdup(p);
		}
		if (a.initrd_image[0]) {
			snprintf(p, sizeof(p), "/var/lib/vdc/local/images/%s", a.initrd_image);
			a.initrd = strdup(p);
		}
		for (int d = 0; d < a.ndisks; d++) {
			snprintf(p, sizeof(p), "/var/lib/vdc/local/%s/%s.qcow2", a.name, a.disks[d].name);
			a.disks[d].path = strdup(p);
			snprintf(a.disks[d].template_format, sizeof(a.disks[d].template_format), "qcow2");
			if (a.disks[d].image[0])
				snprintf(p, sizeof(p), "/var/lib/vdc/local/images/%s", a.disks[d].image);
			else if (a.disks[d].source_vm[0])
				snprintf(p, sizeof(p), "/var/lib/vdc/local/%s/%s.qcow2", a.disks[d].source_vm,
				         a.disks[d].source_disk);
			else
				continue;
			a.disks[d].template_path = strdup(p);
		}
		a.uid = 200000 + (unsigned)i;
		a.gid = 200000 + (unsigned)i;
		json_t *out1 = vm_spec_to_json(&a, true);
		assert_non_null(out1);
		if (vm_spec_parse(out1, VM_SPEC_FROM_STORE, &b, &err) != 0)
			fail_msg("case %zu: stored form refused: %s: %s", i, err.field, err.message);
		json_t *out2 = vm_spec_to_json(&b, true);
		assert_int_equal(b.uid, 200000 + i);
		assert_int_equal(b.gid, 200000 + i);
		if (!json_equal(out1, out2)) {
			char *s1 = json_dumps(out1, JSON_SORT_KEYS), *s2 = json_dumps(out2, JSON_SORT_KEYS);
			fail_msg("case %zu: round trip differs:\n%s\n%s", i, s1, s2);
		}
		/* Without paths the document is a valid user request again, and
		 * names no host file at all. */
		json_t *pub = vm_spec_to_json(&a, false);
		char *pubs = json_dumps(pub, JSON_COMPACT);
		if (strstr(pubs, "/var/lib/vdc"))
			fail_msg("case %zu: the public form names a host path: %s", i, pubs);
		free(pubs);
		vm_spec_free(&b);
		memset(&err, 0, sizeof(err));
		if (vm_spec_parse(pub, VM_SPEC_FROM_USER, &b, &err) != 0)
			fail_msg("case %zu: public form refused: %s: %s", i, err.field, err.message);
		vm_spec_free(&a);
		vm_spec_free(&b);
		json_decref(out1);
		json_decref(out2);
		json_decref(pub);
		json_decref(j);
	}
}

static void parse_ok(const char *text, struct vm_spec *spec)
{
	json_t *j = tu_json(text);
	struct jv_err err = {0};
	if (vm_spec_parse(j, VM_SPEC_FROM_USER, spec, &err) != 0)
		fail_msg("%s refused: %s: %s", text, err.field, err.message);
	json_decref(j);
}

#define EIGHT_NICS                                                                             \
	"'nics':[{'bridge':'br0'},{'bridge':'br0'},{'bridge':'br0'},{'bridge':'br0'},"             \
	"{'mode':'user'},{'mode':'user'},{'mode':'user'},{'mode':'user'}]"

static void test_macs(void **state)
{
	struct vm_spec a, b, c;
	parse_ok("{'name':'a'," DISK "," EIGHT_NICS "}", &a);
	parse_ok("{'name':'a'," DISK "," EIGHT_NICS "}", &b);
	parse_ok("{'name':'a'," DISK "," EIGHT_NICS "}", &c);
	fill(&a, UUID);
	fill(&b, UUID);
	fill(&c, "0b9c3c1e-0a8e-4c5e-9f4e-ffeeddccbbaa");
	for (int i = 0; i < a.nnics; i++) {
		assert_true(vm_spec_valid_mac(a.nics[i].mac));
		assert_int_equal(strncmp(a.nics[i].mac, "52:54:00:", 9), 0); /* QEMU's OUI */
		assert_string_equal(a.nics[i].mac, b.nics[i].mac);           /* stable */
		assert_string_not_equal(a.nics[i].mac, c.nics[i].mac);       /* per VM */
		for (int k = 0; k < i; k++)
			assert_string_not_equal(a.nics[i].mac, a.nics[k].mac);   /* per NIC */
	}
	/* Defaults fill in the datastore too, and leave given values alone. */
	assert_string_equal(a.disks[0].datastore, "local");
	vm_spec_free(&a);
	vm_spec_free(&b);
	vm_spec_free(&c);

	/* A given MAC is kept, and filling twice changes nothing. */
	parse_ok("{'name':'a'," DISK ",'nics':[{'bridge':'br0','mac':'52:54:00:AB:CD:EF'},"
	         "{'bridge':'br0'}]}", &a);
	fill(&a, UUID);
	char second[18];
	snprintf(second, sizeof(second), "%s", a.nics[1].mac);
	vm_spec_fill_defaults(&a, "other");
	assert_string_equal(a.nics[0].mac, "52:54:00:AB:CD:EF");
	assert_string_equal(a.nics[1].mac, second);
	assert_string_equal(a.disks[0].datastore, "local");
	vm_spec_free(&a);
}

/* A user may give one NIC the very MAC the generator picks for another:
 * the generated one must then step aside, or the VM gets two NICs with one
 * address and its stored spec no longer parses. */
static void test_mac_generated_collides_with_given(void **state)
{
	struct vm_spec probe, a, b;
	parse_ok("{'name':'a'," DISK ",'nics':[{'bridge':'br0'},{'bridge':'br0'}]}", &probe);
	fill(&probe, UUID);
	for (int victim = 0; victim < 2; victim++) {
		char text[512];
		/* NIC "victim" is generated; the other is given the generated value. */
		snprintf(text, sizeof(text),
		         "{'name':'a','uuid':'" UUID "'," DISK ",'nics':[{'bridge':'br0'%s%s%s},"
		         "{'bridge':'br0'%s%s%s}]}",
		         victim == 1 ? ",'mac':'" : "", victim == 1 ? probe.nics[1].mac : "",
		         victim == 1 ? "'" : "", victim == 0 ? ",'mac':'" : "",
		         victim == 0 ? probe.nics[0].mac : "", victim == 0 ? "'" : "");
		parse_ok(text, &a);
		vm_spec_fill_defaults(&a, "local");
		assert_true(vm_spec_valid_mac(a.nics[victim].mac));
		assert_string_not_equal(a.nics[0].mac, a.nics[1].mac);
		json_t *out = vm_spec_to_json(&a, true);
		struct jv_err err = {0};
		if (vm_spec_parse(out, VM_SPEC_FROM_STORE, &b, &err) != 0)
			fail_msg("stored spec refused: %s: %s", err.field, err.message);
		vm_spec_free(&a);
		vm_spec_free(&b);
		json_decref(out);
	}
	vm_spec_free(&probe);
}

static void test_tap_names(void **state)
{
	struct vm_spec a;
	parse_ok("{'name':'a'," DISK "," EIGHT_NICS "}", &a);
	fill(&a, UUID);
	char names[VM_MAX_NICS][16];
	for (int i = 0; i < VM_MAX_NICS; i++) {
		vm_spec_tap_name(&a, i, names[i]);
		assert_true(strlen(names[i]) <= 15); /* IFNAMSIZ - 1 */
		assert_true(vm_spec_valid_ifname(names[i]));
		assert_int_equal(strncmp(names[i], "vt0b9c3c1en", 11), 0);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(names[i], names[k]);
	}
	assert_string_equal(names[7], "vt0b9c3c1en7");
	vm_spec_free(&a);
}

/* remove_disks=...: the disks a list names, or the first name that is none. */
static void test_disk_list(void **state)
{
	struct vm_spec a;
	parse_ok("{'name':'a','disks':[{'name':'root','size_mib':8},{'name':'data','size_mib':8},"
	         "{'name':'d2','size_mib':8}]}",
	         &a);
	static const struct {
		const char *list;
		int rc;
		bool marks[3];
		const char *bad;
	} cases[] = {
		{NULL, 0, {0, 0, 0}, ""},
		{"", 0, {0, 0, 0}, ""},
		{"root", 0, {1, 0, 0}, ""},
		{"data,root", 0, {1, 1, 0}, ""},
		{"d2,d2", 0, {0, 0, 1}, ""},
		{"root,", 0, {1, 0, 0}, ""},
		{"nope", -1, {0, 0, 0}, "nope"},
		{"root,,data", -1, {1, 0, 0}, ""},
		{",root", -1, {0, 0, 0}, ""},
		{"roo", -1, {0, 0, 0}, "roo"},
		{"rootx", -1, {0, 0, 0}, "rootx"},
		{"data,../etc", -1, {0, 1, 0}, "../etc"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool marks[VM_MAX_DISKS] = {0};
		char bad[64] = "";
		int rc = vm_spec_disk_list(&a, cases[i].list, marks, bad, sizeof(bad));
		if (rc != cases[i].rc || strcmp(bad, cases[i].bad))
			fail_msg("'%s': rc %d bad '%s', want %d '%s'", cases[i].list ? cases[i].list : "(null)", rc, bad,
			         cases[i].rc, cases[i].bad);
		for (int k = 0; k < 3; k++)
			if (marks[k] != cases[i].marks[k])
				fail_msg("'%s': disk %d marked %d", cases[i].list ? cases[i].list : "(null)", k, marks[k]);
	}
	vm_spec_free(&a);
}

struct str_case {
	const char *s;
	bool valid;
};

static void test_validators(void **state)
{
	static const struct str_case uuids[] = {
		{UUID, true}, {"0B9C3C1E-0A8E-4C5E-9F4E-1D2C3B4A5F60", true},
		{"", false}, {"0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f6", false},
		{"0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f600", false},
		{"0b9c3c1e+0a8e-4c5e-9f4e-1d2c3b4a5f60", false},
		{"0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f6z", false},
		{"0b9c3c1e0a8e-4c5e-9f4e-1d2c3b4a5f600", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(uuids); i++)
		if (vm_spec_valid_uuid(uuids[i].s) != uuids[i].valid)
			fail_msg("uuid '%s' should be %s", uuids[i].s, uuids[i].valid ? "valid" : "invalid");
	static const struct str_case macs[] = {
		{"52:54:00:12:34:56", true}, {"02:00:00:00:00:00", true}, {"fe:ff:ff:ff:ff:ff", true},
		{"01:00:5e:00:00:01", false}, {"33:33:00:00:00:01", false}, {"ff:ff:ff:ff:ff:ff", false},
		{"52:54:00:12:34", false}, {"52:54:00:12:34:56:", false}, {"5254.0012.3456", false},
		{"52:54:00:12:34:5", false}, {"g2:54:00:12:34:56", false}, {"", false},
		{" 2:54:00:12:34:56", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(macs); i++)
		if (vm_spec_valid_mac(macs[i].s) != macs[i].valid)
			fail_msg("mac '%s' should be %s", macs[i].s, macs[i].valid ? "valid" : "invalid");
	static const struct str_case ifnames[] = {
		{"br0", true}, {"vmbr0.100", true}, {"a-b_c", true}, {"abcdefghijklmno", true},
		{"abcdefghijklmnop", false}, {"", false}, {"br 0", false}, {"br/0", false},
		{"br:0", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(ifnames); i++)
		if (vm_spec_valid_ifname(ifnames[i].s) != ifnames[i].valid)
			fail_msg("ifname '%s' should be %s", ifnames[i].s,
			         ifnames[i].valid ? "valid" : "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_lengths_and_counts),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_good_minimal),
		cmocka_unit_test(test_good_full),
		cmocka_unit_test(test_good_specs),
		cmocka_unit_test(test_pool_chain),
		cmocka_unit_test(test_store_fields),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_macs),
		cmocka_unit_test(test_mac_generated_collides_with_given),
		cmocka_unit_test(test_tap_names),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_disk_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
