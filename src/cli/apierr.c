/* apierr.c - turns vdcd's error replies into exit codes and advice. Pure:
 * the caller prints the text, so every message is pinned by a unit test. */
#include "apierr.h"

#include "args.h"
#include "table.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int apierr_exit_code(long status)
{
	if (status == 0)
		return CLI_UNREACHABLE;
	if (status >= 200 && status < 300)
		return CLI_OK;
	switch (status) {
	case 400: case 413: case 422: return CLI_USAGE;
	case 401: case 403: return CLI_AUTH;
	case 404: return CLI_NOT_FOUND;
	case 409: case 412: case 423: return CLI_CONFLICT;
	default: return CLI_FAIL;
	}
}

/* Appends to buf at *o (bounded). */
__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t n, size_t *o,
                                                      const char *fmt, ...)
{
	if (*o >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *o, n - *o, fmt, ap);
	va_end(ap);
	if (w > 0)
		*o = *o + (size_t)w < n ? *o + (size_t)w : n;
}

static json_t *json_path_hosts(json_t *err)
{
	return json_object_get(json_object_get(err, "placement"), "hosts");
}

/* One line per host of a placement report: why it was or was not chosen. */
static void put_placement(char *buf, size_t n, size_t *o, const json_t *placement)
{
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(placement, "hosts"), i, h) {
		char *host = text_sanitize(json_string_value(json_object_get(h, "host")) ?: "?");
		char *why = text_sanitize(json_string_value(json_object_get(h, "reason")) ?: "");
		const char *filter = json_string_value(json_object_get(h, "filter"));
		if (json_is_true(json_object_get(h, "eligible")))
			put(buf, n, o, "\n  %s: eligible: %s", host ? host : "?", why ? why : "");
		else
			put(buf, n, o, "\n  %s: rejected by %s: %s", host ? host : "?", filter ? filter : "?",
			    why ? why : "");
		free(host);
		free(why);
	}
}

/* A 400: name the flag the field came from, or the field of a -f body. */
static void put_invalid(char *buf, size_t n, size_t *o, const struct apierr_ctx *x,
                        const char *field, const char *msg)
{
	size_t fl = field ? strlen(field) : 0;
	/* vdcd writes "field: what is wrong"; the flag replaces the field. */
	if (fl && !strncmp(msg, field, fl) && msg[fl] == ':' && msg[fl + 1] == ' ')
		msg += fl + 2;
	const struct opt *o_flag = x->args ? args_opt_for_field(x->args, field) : NULL;
	const struct opt_value *v = o_flag ? args_value(x->args, o_flag->name) : NULL;
	if (v && (o_flag->type == OPT_SIZE || o_flag->type == OPT_BYTES || o_flag->type == OPT_DURATION))
		/* The value as typed, and what vdcd got, whose words count in
		 * its own unit: "--ttl 5s (5 s): must be from 60 to ...". */
		put(buf, n, o, "invalid --%s %s (%lld %s): %s", o_flag->name, v->str, v->i,
		    o_flag->type == OPT_SIZE ? "MiB" : o_flag->type == OPT_BYTES ? "bytes" : "s", msg);
	else if (o_flag)
		put(buf, n, o, "invalid --%s: %s", o_flag->name, msg);
	else if (fl && !strcmp(field, "name"))
		put(buf, n, o, "invalid NAME: %s", msg);
	else if (fl && !strcmp(field, "password")) /* never a flag: typed or piped in */
		put(buf, n, o, "invalid password: %s", msg);
	else if (fl)
		put(buf, n, o, "invalid field '%s': %s", field, msg);
	else
		put(buf, n, o, "invalid request: %s", msg);
}

int apierr_describe(const struct apierr_ctx *x, long status, const char *body, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	json_t *doc = body ? json_loads(body, 0, NULL) : NULL;
	json_t *err = json_object_get(doc, "error");
	const char *code = json_string_value(json_object_get(err, "code")) ?: "";
	const char *field = json_string_value(json_object_get(err, "field"));
	const char *raw = json_string_value(json_object_get(err, "message"));
	char first[256] = "";
	if (!raw && body) {
		/* Not vdcd's error format (a proxy?): show its first line. */
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(body, "\r\n"), body);
		raw = first;
	}
	char *msg = text_sanitize(raw && *raw ? raw : "no details given");
	const char *m = msg ? msg : "";
	const char *server = x->server ? x->server : "the server";
	switch (status) {
	case 400: case 422:
		put_invalid(buf, n, &o, x, field, m);
		break;
	case 401:
		if (!strcmp(code, "token_expired")) {
			/* Not "refused": it was good, and its time is up. */
			put(buf, n, &o, "%s\n", m);
			if (x->token_from && !strcmp(x->token_from, "env"))
				put(buf, n, &o, "the token in VDC_TOKEN has expired: set a new one, or unset it and run 'vdc login'");
			else if (x->token_from && !strcmp(x->token_from, "flag"))
				put(buf, n, &o, "the token given with --token has expired: make a new one ('vdc token create')");
			else
				put(buf, n, &o, "the saved login has expired: run 'vdc login' again");
			break;
		}
		put(buf, n, &o, "not authorized by %s: %s\n", server, m);
		if (!x->token_from || !*x->token_from)
			put(buf, n, &o, "no token is set: run 'vdc login' (or set VDC_TOKEN)");
		else if (!strcmp(x->token_from, "env"))
			put(buf, n, &o, "the token in VDC_TOKEN was refused: fix it, or unset it and run 'vdc login'");
		else if (!strcmp(x->token_from, "flag"))
			put(buf, n, &o, "the token given with --token was refused");
		else if (!strcmp(x->token_from, "file"))
			put(buf, n, &o, "the saved token was refused: run 'vdc login' again");
		else if (!strcmp(x->token_from, "password"))
			put(buf, n, &o, "check the user name and password, and try again");
		else
			put(buf, n, &o, "the token was refused: check it and try again");
		break;
	case 403:
		put(buf, n, &o, "forbidden: %s\nthe token in use may not do this; ask for one that may", m);
		break;
	case 404:
		put(buf, n, &o, "%s", m);
		if (x->kind)
			put(buf, n, &o, " (see 'vdc %s list')", x->kind);
		break;
	case 409:
		put(buf, n, &o, "%s", m);
		if (!strcmp(code, "no_host") && json_array_size(json_path_hosts(err))) {
			put(buf, n, &o, "\nhosts considered:");
			put_placement(buf, n, &o, json_object_get(err, "placement"));
		}
		break;
	case 413:
		put(buf, n, &o, "the request is too large for the server: %s", m);
		break;
	case 429:
		put(buf, n, &o, "%s\nvdcd slows down repeated attempts: wait a while, then try again", m);
		break;
	default:
		if (status >= 500)
			put(buf, n, &o, "vdcd failed (HTTP %ld%s%s): %s\nsee vdcd's log; retrying may help",
			    status, *code ? ", " : "", code, m);
		else
			put(buf, n, &o, "HTTP %ld%s%s: %s", status, *code ? ", " : "", code, m);
	}
	free(msg);
	json_decref(doc);
	return apierr_exit_code(status);
}

int apierr_unreachable(const struct apierr_ctx *x, const char *why, char *buf, size_t n)
{
	const char *server = x->server ? x->server : "the server";
	char *clean = text_sanitize(why ? why : "no reply");
	const char *w = clean ? clean : "";
	if (strstr(w, "subject name") || strstr(w, "does not match target host"))
		snprintf(buf, n,
		         "cannot reach vdcd at %s securely: %s\n"
		         "vdcd's certificate is not made for this name: use a name or address it names",
		         server, w);
	else if ((strstr(w, "certificate") || strstr(w, "SSL peer")) && x->ca_file && *x->ca_file)
		snprintf(buf, n,
		         "cannot reach vdcd at %s securely: %s\n"
		         "its certificate does not verify with the CA trusted at login (%s): someone may "
		         "be in the way, or vdcd's CA changed; run 'vdc login' to check",
		         server, w, x->ca_file);
	else if (strstr(w, "certificate") || strstr(w, "SSL peer"))
		snprintf(buf, n,
		         "cannot reach vdcd at %s securely: %s\n"
		         "its CA is not trusted here yet: run 'vdc login --server %s' to check its "
		         "fingerprint and trust it",
		         server, w, server);
	else
		snprintf(buf, n,
		         "cannot reach vdcd at %s: %s\n"
		         "is vdcd running at %s? (set VDC_SERVER or run 'vdc login --server URL')",
		         server, w, server);
	free(clean);
	return CLI_UNREACHABLE;
}
