/* natnet.c - applies the guest network of nat_rules.c: bridge, sysctl,
 * nftables (in process, through libnftables: one atomic transaction and its
 * error text, no `nft` child), and dnsmasq, which runs as its own daemon so
 * guests keep DHCP and DNS while the agent restarts. */
#include "natnet.h"

#include "agent.h"
#include "fsutil.h"
#include "log.h"
#include "loop.h"
#include "nat_rules.h"
#include "net.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_MS 3000
#define MAX_MANAGER_ADDRS 8

struct natnet {
	struct agent *agent;
	struct loop_timer *timer;
	char conf[1100], pid_file[1100];
};

/* One agent per process, so one guest network. */
static struct natnet the_natnet;

/* The manager's addresses, numeric, so the guard can name them. */
static int resolve_manager(const char *manager_url, char out[][64], int max)
{
	struct url u;
	if (!manager_url[0] || url_parse(manager_url, &u) < 0)
		return 0;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc = getaddrinfo(u.host, NULL, &hints, &res);
	if (rc != 0) {
		log_warn("nat_manager_unresolved", "host=%s error=%s", u.host, log_quote(gai_strerror(rc)));
		return 0;
	}
	int n = 0;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out[n], 64, NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		char *pct = strchr(out[n], '%'); /* a link-local's zone */
		if (pct)
			*pct = '\0';
		int dup = 0;
		for (int k = 0; k < n; k++)
			dup |= !strcmp(out[k], out[n]);
		n += !dup;
	}
	freeaddrinfo(res);
	return n;
}

static int apply_ruleset(const char *text)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		log_error("nft_failed", "error=\"cannot make an nftables context\"");
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	int rc = nft_run_cmd_from_buffer(ctx, text);
	if (rc != 0) {
		const char *msg = nft_ctx_get_error_buffer(ctx);
		log_error("nft_failed", "error=%s hint=%s", log_quote(msg ? msg : "?"),
		          log_quote("the host guard needs nftables (Linux 5.x with nf_tables, and the "
		                    "bridge family): check `nft list ruleset` works here"));
	}
	nft_ctx_free(ctx);
	return rc == 0 ? 0 : -1;
}

static int check_routes(const struct nat_net *nat)
{
	char *routes = fs_read_all("/proc/net/route", 1 << 20, NULL);
	char iface[32];
	int conflict = routes && nat_rules_route_conflict(nat, routes, iface, sizeof(iface));
	free(routes);
	if (conflict) {
		char gw[16];
		nat_addr_text(nat->gw, gw);
		log_error("nat_subnet_routed", "subnet=%s/%d via=%s hint=%s", gw, nat->prefix, iface,
		          log_quote("the NAT network's subnet is routed on this host already: choose "
		                    "another with --nat-network GATEWAY/LENGTH, or --nat-network off"));
	}
	return conflict ? -1 : 0;
}

/* The pid in our pid file when that process is a dnsmasq reading our
 * config; 0 otherwise. */
static pid_t dnsmasq_running(const struct natnet *nn)
{
	char *s = fs_read_all(nn->pid_file, 64, NULL);
	pid_t pid = s ? (pid_t)atoi(s) : 0;
	free(s);
	if (pid <= 0)
		return 0;
	char path[64], want[1200];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	size_t len = 0;
	char *cmd = fs_read_all(path, 8192, &len);
	snprintf(want, sizeof(want), "--conf-file=%s", nn->conf);
	int ours = 0;
	for (size_t off = 0; cmd && off < len; off += strlen(cmd + off) + 1)
		ours |= !strcmp(cmd + off, want);
	free(cmd);
	return ours ? pid : 0;
}

/* Starts dnsmasq, which forks into the background once it listens; its
 * first process's exit status and words say whether it did. */
static int dnsmasq_spawn(const struct natnet *nn)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	char arg[1200];
	snprintf(arg, sizeof(arg), "--conf-file=%s", nn->conf);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* the loop blocks SIGTERM */
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close_range(3, ~0u, 0);
		execl("/usr/sbin/dnsmasq", "dnsmasq", arg, (char *)NULL);
		execlp("dnsmasq", "dnsmasq", arg, (char *)NULL);
		dprintf(2, "cannot run dnsmasq: %s (install dnsmasq-base)\n", strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return -1;
	}
	char out[512];
	size_t used = 0;
	struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
	while (used < sizeof(out) - 1 && poll(&p, 1, 5000) > 0) {
		ssize_t n = read(pipefd[0], out + used, sizeof(out) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	out[used] = '\0';
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		out[strcspn(out, "\n")] = '\0';
		log_error("dnsmasq_failed", "status=%d error=%s conf=%s", status, log_quote(out), nn->conf);
		return -1;
	}
	log_info("dnsmasq_started", "pid_file=%s conf=%s", nn->pid_file, nn->conf);
	return 0;
}

static void dnsmasq_stop_old(const struct natnet *nn)
{
	pid_t pid = dnsmasq_running(nn);
	if (!pid)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(10000);
}

static void natnet_check(void *ctx)
{
	struct natnet *nn = ctx;
	nn->timer = NULL;
	if (!dnsmasq_running(nn)) {
		log_warn("dnsmasq_gone", "action=restart conf=%s", nn->conf);
		dnsmasq_spawn(nn);
	}
	nn->timer = loop_timer_after(nn->agent->loop, CHECK_MS, natnet_check, nn);
}

static void dnsmasq_paths(struct natnet *nn, const struct agent_config *cfg)
{
	snprintf(nn->conf, sizeof(nn->conf), "%.1000s/nat/dnsmasq.conf", cfg->run_dir);
	snprintf(nn->pid_file, sizeof(nn->pid_file), "%.1000s/nat/dnsmasq.pid", cfg->run_dir);
}

/* Writes dnsmasq's config and (re)starts it unless the one running already
 * reads the same config. */
static int dnsmasq_up(struct natnet *nn, const struct agent_config *cfg)
{
	char rdir[1100], sdir[1100], leases[1200], logf[1200];
	snprintf(rdir, sizeof(rdir), "%s/nat", cfg->run_dir);
	snprintf(sdir, sizeof(sdir), "%s/nat", cfg->state_dir);
	if (fs_mkdir_p(rdir, 0755) < 0 || fs_mkdir_p(sdir, 0755) < 0) {
		log_error("dnsmasq_failed", "dirs=%s,%s error=%s", rdir, sdir, log_quote(strerror(errno)));
		return -1;
	}
	snprintf(logf, sizeof(logf), "%s/dnsmasq.log", rdir);
	snprintf(leases, sizeof(leases), "%s/dnsmasq.leases", sdir);
	char *text = nat_rules_dnsmasq_conf(&cfg->nat, nn->pid_file, leases, logf);
	if (!text)
		return -1;
	char *old = fs_read_all(nn->conf, 1 << 16, NULL);
	int same = old && !strcmp(old, text) && dnsmasq_running(nn);
	free(old);
	if (same) {
		free(text);
		log_info("dnsmasq_kept", "pid_file=%s", nn->pid_file);
		return 0;
	}
	dnsmasq_stop_old(nn);
	int rc = fs_write_atomic(nn->conf, text, strlen(text), 0644);
	free(text);
	if (rc < 0) {
		log_error("dnsmasq_failed", "conf=%s error=%s", nn->conf, log_quote(strerror(errno)));
		return -1;
	}
	return dnsmasq_spawn(nn);
}

/* The NAT bridge with its gateway address, and IPv4 forwarding for it (the
 * guard's forward chain keeps bridged guests from routing with it). */
static int nat_bridge_up(const struct nat_net *nat)
{
	struct errinfo e = {0};
	/* The gateway's MAC is the same on every host (made from its address):
	 * a guest migrated here keeps the gateway in its ARP cache, which must
	 * still be right, or it is cut off until the entry expires. */
	unsigned char mac[6] = {0x02, 0x76, (unsigned char)(nat->gw >> 24), (unsigned char)(nat->gw >> 16),
	                        (unsigned char)(nat->gw >> 8), (unsigned char)nat->gw};
	if (net_bridge_up(NAT_BRIDGE, nat->gw, nat->prefix, mac, &e) < 0) {
		log_error("nat_bridge_failed", "error=%s", log_quote(e.message));
		return -1;
	}
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	int ok = fd >= 0 && write(fd, "1\n", 2) == 2;
	if (!ok)
		log_error("ip_forward_failed", "error=%s", log_quote(strerror(errno)));
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

int natnet_start(struct agent *a)
{
	const struct agent_config *cfg = &a->cfg;
	struct natnet *nn = &the_natnet;
	memset(nn, 0, sizeof(*nn));
	nn->agent = a;
	dnsmasq_paths(nn, cfg);
	char addrs[MAX_MANAGER_ADDRS][64];
	const char *ptrs[MAX_MANAGER_ADDRS];
	int naddrs = resolve_manager(cfg->manager_url, addrs, MAX_MANAGER_ADDRS);
	for (int i = 0; i < naddrs; i++)
		ptrs[i] = addrs[i];
	if (cfg->nat.enabled && check_routes(&cfg->nat) < 0)
		return -1;
	/* The guard first: forwarding is turned on only under it. */
	char *rules = nat_rules_ruleset(&cfg->nat, ptrs, naddrs);
	int rc = rules ? apply_ruleset(rules) : -1;
	free(rules);
	if (rc < 0 || (cfg->nat.enabled && nat_bridge_up(&cfg->nat) < 0))
		return -1;
	char gw[16];
	nat_addr_text(cfg->nat.gw, gw);
	log_info("host_guard_ready", "nat=%s gateway=%s prefix=%d manager_addrs=%d",
	         cfg->nat.enabled ? NAT_BRIDGE : "off", cfg->nat.enabled ? gw : "-", cfg->nat.prefix,
	         naddrs);
	if (!cfg->nat.enabled) {
		dnsmasq_stop_old(nn); /* one of an earlier start with NAT on */
		return 0;
	}
	if (dnsmasq_up(nn, cfg) < 0)
		return -1;
	nn->timer = loop_timer_after(a->loop, CHECK_MS, natnet_check, nn);
	return 0;
}

void natnet_stop(struct agent *a)
{
	struct natnet *nn = &the_natnet;
	if (nn->timer)
		loop_timer_cancel(a->loop, nn->timer);
	nn->timer = NULL;
}
