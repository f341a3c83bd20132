/* api_ui.c - the web UI's files (built by scripts/build-ui.sh from ui/),
 * served by vdcd on its own port so that the browser talks to the API on
 * the same origin: nothing else to install, and a Content-Security-Policy
 * of 'self' only. Hashed assets (Vite names them by content) are cached for
 * a year; index.html never, so a new build is picked up at once. A path
 * that names no file (the UI's client-side pages, /vms/web-1) gets
 * index.html; /api/... never comes here (see mgr_ui_fallback). */
#include "api.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UI_FILE_MAX (16u << 20) /* the largest file served; bundles are far smaller */

/* Every answer of vdcd carries these (main.c hands them to the HTTP
 * server): the UI's pages run only their own scripts, talk only to this
 * origin, are never framed, and leak no URL in Referer. A refusal's report
 * carries the first characters refused (report-sample), to find its cause. */
const char *const mgr_security_headers[] = {
	"Content-Security-Policy",
	"default-src 'self'; script-src 'self' 'report-sample'; style-src 'self' 'report-sample'; img-src 'self' data:; "
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
	"form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options", "nosniff",
	"Referrer-Policy", "no-referrer",
	"X-Frame-Options", "DENY",
	/* Cross-origin isolation (every resource of the UI is this origin's):
	 * it lets the serial console share a buffer with its worker, which is
	 * how a key's echo is drawn in the frame it arrives for
	 * (ui/src/consoles/serial_ring.js). */
	"Cross-Origin-Opener-Policy", "same-origin",
	"Cross-Origin-Embedder-Policy", "require-corp",
	NULL,
};

/* Unknown GET paths outside /api/ (main.c): the UI's client-side routes. */
const struct http_route mgr_ui_fallback = {"GET", "/", api_ui_get, 1, 0};

static const char *content_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},   {".json", "application/json"},
		{".svg", "image/svg+xml"},             {".png", "image/png"},
		{".ico", "image/x-icon"},              {".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"}, {".map", "application/json"},
		{".webmanifest", "application/manifest+json"},
	};
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcmp(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/* 1 when the URL path may name a file under the UI's folder: no "." or
 * ".." segment, no backslash, no empty segment, nothing hidden. */
int mgr_ui_path_ok(const char *path)
{
	if (path[0] != '/' || strlen(path) > 512 || strchr(path, '\\'))
		return 0;
	for (const char *seg = path + 1; *seg;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || seg[0] == '.')
			return 0;
		if (!end)
			break;
		seg = end + 1;
	}
	return 1;
}

/* Reads a regular file under dir (no symlink followed at its last step).
 * Returns its bytes (malloc'd) or NULL with errno. */
static char *read_file(const char *dir, const char *rel, size_t *len)
{
	char full[PATH_MAX];
	if (snprintf(full, sizeof(full), "%s/%s", dir, rel) >= (int)sizeof(full)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat sb;
	char *buf = NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > UI_FILE_MAX) {
		errno = ENOENT;
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r <= 0) {
			free(buf);
			buf = NULL;
			errno = r < 0 ? errno : EIO;
			break;
		}
		got += (size_t)r;
	}
	*len = got;
out:
	close(fd);
	return buf;
}

static int accepts_gzip(struct http_req *req)
{
	const char *ae = http_header(req, "Accept-Encoding");
	return ae && strstr(ae, "gzip") != NULL;
}

/* Serves rel (a path under the UI folder without its leading slash): its
 * .gz twin (made by the build) when the client takes gzip. 0, or -1 when
 * there is no such file (nothing replied). */
static int serve(struct http_req *req, const char *dir, const char *rel, const char *cache)
{
	size_t len = 0;
	char *data = NULL;
	char gz[600];
	int zipped = 0;
	if (accepts_gzip(req) && snprintf(gz, sizeof(gz), "%s.gz", rel) < (int)sizeof(gz) &&
	    (data = read_file(dir, gz, &len)))
		zipped = 1;
	if (!data && !(data = read_file(dir, rel, &len)))
		return -1;
	http_add_header(req, "Cache-Control", cache);
	http_add_header(req, "Vary", "Accept-Encoding");
	if (zipped)
		http_add_header(req, "Content-Encoding", "gzip");
	http_reply_text(req, 200, content_type(rel), data, len);
	return 0;
}

void api_ui_get(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const char *dir = m->cfg.ui_dir;
	const char *path = http_path(req);
	if (!dir[0]) {
		http_reply_error(req, 404, "not_found", NULL,
		                 "the web UI is not installed here: start vdcd with --ui-dir DIR "
		                 "(the folder scripts/build.sh fills, e.g. build/ui)");
		return;
	}
	if (!mgr_ui_path_ok(path)) {
		http_reply_error(req, 400, "invalid_path", NULL,
		                 "the path may not hold '.' or '..' segments, empty segments or backslashes");
		return;
	}
	/* Vite names assets by their content: they never change. */
	bool asset = !strncmp(path, "/assets/", 8);
	if (strcmp(path, "/") && strcmp(path, "/index.html") &&
	    serve(req, dir, path + 1, asset ? "public, max-age=31536000, immutable" : "no-cache") == 0)
		return;
	if (asset) { /* a missing script is an error, not the index page */
		http_reply_error(req, 404, "not_found", NULL, "no such file of the web UI: %s", path);
		return;
	}
	if (serve(req, dir, "index.html", "no-cache") < 0) {
		log_warn("ui_missing", "dir=%s error=%s", log_quote(dir), log_quote(strerror(errno)));
		http_reply_error(req, 404, "not_found", NULL,
		                 "the web UI has no index.html in %s: build it (scripts/build.sh)", dir);
	}
}

/* The UI folder when --ui-dir is not given: next to the binary in a build
 * tree (build/src/manager/vdcd -> build/ui), else the installed one
 * (PREFIX/bin/vdcd -> PREFIX/share/vdc/ui). "" when neither has an
 * index.html. */
void mgr_ui_default_dir(char *out, size_t n)
{
	char exe[PATH_MAX];
	out[0] = '\0';
	ssize_t r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (r <= 0)
		return;
	exe[r] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	static const char *const rel[] = {"../../ui", "../share/vdc/ui"};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX + 32], index[PATH_MAX + 64], real[PATH_MAX];
		snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
		snprintf(index, sizeof(index), "%s/index.html", cand);
		if (access(index, R_OK) == 0 && realpath(cand, real) && strlen(real) < n) {
			snprintf(out, n, "%s", real);
			return;
		}
	}
}
