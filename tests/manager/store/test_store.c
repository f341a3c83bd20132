/* test_store.c - one store suite run on SQLite (a fresh file per test) and,
 * when VDC_TEST_PG_URL is set, on that PostgreSQL database (its public schema
 * emptied per test). Arguments "sqlite" / "postgresql" pick the backends. */
#include "storetest.h"

#include "log.h"

#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 4

/* ---- documents ---- */

static void t_create_get(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	assert_string_equal(store_backend(st), c->pg ? "postgresql" : "sqlite");
	assert_string_equal(store_kind_name(STORE_VM), "vm");
	assert_string_equal(store_kind_plural(STORE_VM), "vms");
	assert_string_equal(store_kind_plural(STORE_TASK), "tasks");

	json_t *d = with(with(mkdoc("h-1", "alpha"), "cluster_id", "c1"), "state", "ready");
	json_object_set_new(d, "cpus", json_integer(8));
	json_t *out = NULL;
	OK(store_create(st, STORE_HOST, d, &out, &E));
	assert_null(json_object_get(d, "version")); /* the caller's document is left alone */
	assert_int_equal(json_integer_value(json_object_get(out, "version")), 1);
	const char *ca = json_string_value(json_object_get(out, "created_at"));
	assert_non_null(ca);
	assert_int_equal(strlen(ca), 20);
	assert_true(ca[10] == 'T' && ca[19] == 'Z');
	assert_string_equal(ca, json_string_value(json_object_get(out, "updated_at")));

	char *by_id = get_text(st, STORE_HOST, "h-1");
	char *by_name = get_text(st, STORE_HOST, "alpha");
	assert_string_equal(by_id, by_name);
	json_t *parsed = json_loads(by_id, 0, NULL);
	assert_true(json_equal(parsed, out));
	json_t *g = get(st, STORE_HOST, "alpha");
	assert_true(json_equal(g, out));

	/* An id wins over a name: another host named like the first one's id. */
	create(st, STORE_HOST, mkdoc("h-2", "h-1"));
	json_t *g2 = get(st, STORE_HOST, "h-1");
	assert_string_equal(json_string_value(json_object_get(g2, "name")), "alpha");
	json_t *g3 = get(st, STORE_HOST, "h-2");
	assert_string_equal(json_string_value(json_object_get(g3, "name")), "h-1");

	expect_absent(st, STORE_HOST, "nope");
	expect_absent(st, STORE_VM, "h-1"); /* kinds are apart */
	assert_int_equal(store_schema_version(st), store_dialect_sqlite.nmigrations);

	free(by_id);
	free(by_name);
	json_decref(parsed);
	json_decref(g);
	json_decref(g2);
	json_decref(g3);
	json_decref(out);
	json_decref(d);
	store_close(st);
}

static void t_duplicates(void **state)
{
	struct store *st = open_store(*state);
	create(st, STORE_CLUSTER, mkdoc("c-1", "prod"));
	json_t *d = mkdoc("c-1", "other");
	json_t *out = (json_t *)1;
	ereset();
	assert_int_equal(store_create(st, STORE_CLUSTER, d, &out, &E), -1);
	expect_err(409, "id_taken");
	assert_string_equal(E.field, "id");
	assert_null(out);
	json_decref(d);
	d = mkdoc("c-2", "prod");
	ereset();
	assert_int_equal(store_create(st, STORE_CLUSTER, d, NULL, &E), -1);
	expect_err(409, "name_taken");
	assert_string_equal(E.field, "name");
	json_decref(d);
	assert_int_equal(count(st, STORE_CLUSTER, NULL, 0), 1);
	/* Names are unique per kind only. */
	create(st, STORE_NETWORK, mkdoc("n-1", "prod"));
	create(st, STORE_DATASTORE, mkdoc("c-1", "prod"));
	store_close(st);
}

static void t_invalid_documents(void **state)
{
	struct store *st = open_store(*state);
	static const char *const bad[][2] = {
		{"[1,2]", ""},
		{"{\"name\":\"x\"}", "id"},
		{"{\"id\":\"\",\"name\":\"x\"}", "id"},
		{"{\"id\":7,\"name\":\"x\"}", "id"},
		{"{\"id\":\"a\"}", "name"},
		{"{\"id\":\"a\",\"name\":\"\"}", "name"},
		{"{\"id\":\"a\",\"name\":\"x\",\"host_id\":5}", "host_id"},
		{"{\"id\":\"a\",\"name\":\"x\",\"power_state\":{\"on\":true}}", "power_state"},
		{"{\"id\":\"a\\u0000b\",\"name\":\"x\"}", "id"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *d = json_loads(bad[i][0], JSON_ALLOW_NUL, NULL);
		assert_non_null(d);
		ereset();
		assert_int_equal(store_create(st, STORE_VM, d, NULL, &E), -1);
		expect_err(400, "invalid_document");
		assert_string_equal(E.field, bad[i][1]);
		json_decref(d);
	}
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	json_t *d = mkdoc("a", longname);
	ereset();
	assert_int_equal(store_create(st, STORE_VM, d, NULL, &E), -1);
	expect_err(400, "invalid_document");
	json_decref(d);
	d = with(mkdoc("a", "x"), "host_id", longname); /* PostgreSQL's index rows are bounded */
	ereset();
	assert_int_equal(store_create(st, STORE_VM, d, NULL, &E), -1);
	expect_err(400, "invalid_document");
	assert_string_equal(E.field, "host_id");
	json_decref(d);
	/* A null mirrored field is a missing one. */
	d = mkdoc("a", "x");
	json_object_set_new(d, "host_id", json_null());
	create(st, STORE_VM, d);
	struct store_filter f = {"host_id", NULL};
	assert_int_equal(count(st, STORE_VM, &f, 1), 1);
	assert_int_equal(count(st, STORE_VM, NULL, 0), 1);
	store_close(st);
}

static void t_update(void **state)
{
	struct store *st = open_store(*state);
	create(st, STORE_HOST, with(mkdoc("h-1", "alpha"), "state", "ready"));
	create(st, STORE_HOST, mkdoc("h-2", "beta"));
	json_t *d = get(st, STORE_HOST, "h-1");
	char created[32];
	snprintf(created, sizeof(created), "%s", json_string_value(json_object_get(d, "created_at")));
	json_object_set_new(d, "state", json_string("maintenance"));
	json_object_set_new(d, "created_at", json_string("1999-01-01T00:00:00Z"));
	json_t *out = NULL;
	OK(store_update(st, STORE_HOST, d, 1, &out, &E));
	assert_int_equal(json_integer_value(json_object_get(out, "version")), 2);
	assert_string_equal(json_string_value(json_object_get(out, "created_at")), created);
	assert_true(strcmp(json_string_value(json_object_get(out, "updated_at")), created) >= 0);
	json_t *g = get(st, STORE_HOST, "alpha");
	assert_true(json_equal(g, out));
	struct store_filter f = {"state", "maintenance"};
	assert_int_equal(count(st, STORE_HOST, &f, 1), 1);
	json_decref(g);
	json_decref(out);

	/* A stale version. */
	ereset();
	out = (json_t *)1;
	assert_int_equal(store_update(st, STORE_HOST, d, 1, &out, &E), -1);
	expect_err(409, "version_conflict");
	assert_string_equal(E.field, "version");
	assert_null(out);
	assert_non_null(strstr(E.message, "version 2"));

	/* Renaming: to a taken name, then to a free one. */
	json_object_set_new(d, "name", json_string("beta"));
	ereset();
	assert_int_equal(store_update(st, STORE_HOST, d, 2, NULL, &E), -1);
	expect_err(409, "name_taken");
	json_object_set_new(d, "name", json_string("gamma"));
	OK(store_update(st, STORE_HOST, d, 2, NULL, &E));
	expect_absent(st, STORE_HOST, "alpha");
	g = get(st, STORE_HOST, "gamma");
	assert_int_equal(json_integer_value(json_object_get(g, "version")), 3);
	json_decref(g);

	/* Absent, and nonsense versions. */
	json_t *ghost = mkdoc("h-9", "ghost");
	ereset();
	assert_int_equal(store_update(st, STORE_HOST, ghost, 1, NULL, &E), -1);
	expect_err(404, "not_found");
	ereset();
	assert_int_equal(store_update(st, STORE_HOST, d, 0, NULL, &E), -1);
	expect_err(400, "invalid_argument");
	ereset();
	assert_int_equal(store_update(st, STORE_HOST, d, 99, NULL, &E), -1);
	expect_err(409, "version_conflict");
	json_decref(ghost);
	json_decref(d);
	store_close(st);
}

static void t_delete(void **state)
{
	struct store *st = open_store(*state);
	create(st, STORE_TEMPLATE, mkdoc("t-1", "debian"));
	OK(store_delete(st, STORE_TEMPLATE, "t-1", &E));
	expect_absent(st, STORE_TEMPLATE, "t-1");
	expect_absent(st, STORE_TEMPLATE, "debian");
	ereset();
	assert_int_equal(store_delete(st, STORE_TEMPLATE, "t-1", &E), -1);
	expect_err(404, "not_found");
	ereset();
	assert_int_equal(store_delete(st, STORE_TEMPLATE, "debian", &E), -1); /* by id only */
	expect_err(404, "not_found");
	create(st, STORE_TEMPLATE, mkdoc("t-1", "debian"));
	json_t *g = get(st, STORE_TEMPLATE, "t-1");
	assert_int_equal(json_integer_value(json_object_get(g, "version")), 1);
	json_decref(g);
	store_close(st);
}

/* ---- lists ---- */

static void t_filters(void **state)
{
	struct store *st = open_store(*state);
	create(st, STORE_HOST, with(with(mkdoc("h1", "h1"), "cluster_id", "c1"), "state", "ready"));
	create(st, STORE_HOST, with(with(mkdoc("h2", "h2"), "cluster_id", "c1"), "state", "down"));
	create(st, STORE_HOST, with(with(mkdoc("h3", "h3"), "cluster_id", "c2"), "state", "ready"));
	create(st, STORE_HOST, with(mkdoc("h4", "h4"), "state", "ready"));
	struct store_filter c1 = {"cluster_id", "c1"}, ready = {"state", "ready"};
	struct store_filter both[2] = {ready, c1}, none = {"cluster_id", NULL};
	char *next = (char *)1;
	assert_string_equal(page(st, STORE_HOST, &c1, 1, NULL, 10, &next), "h1,h2");
	assert_null(next);
	assert_string_equal(page(st, STORE_HOST, &ready, 1, NULL, 10, NULL), "h1,h3,h4");
	assert_string_equal(page(st, STORE_HOST, both, 2, NULL, 10, NULL), "h1");
	assert_string_equal(page(st, STORE_HOST, &none, 1, NULL, 10, NULL), "h4");
	assert_string_equal(page(st, STORE_HOST, NULL, 0, NULL, 10, NULL), "h1,h2,h3,h4");
	assert_int_equal(count(st, STORE_HOST, &c1, 1), 2);
	assert_int_equal(count(st, STORE_HOST, &ready, 1), 3);
	assert_int_equal(count(st, STORE_HOST, both, 2), 1);
	assert_int_equal(count(st, STORE_HOST, &none, 1), 1);
	assert_int_equal(count(st, STORE_HOST, NULL, 0), 4);

	/* Every mirrored column of vms, and an update moving one. */
	for (int i = 0; i < 6; i++) {
		char id[16];
		snprintf(id, sizeof(id), "vm%d", i);
		json_t *d = with(mkdoc(id, id), "host_id", i % 2 ? "h1" : "h2");
		with(d, "cluster_id", "c1");
		with(d, "power_state", i < 4 ? "running" : "stopped");
		with(d, "template_id", i == 0 ? "tpl" : NULL);
		create(st, STORE_VM, d);
	}
	struct store_filter on_h1 = {"host_id", "h1"}, running = {"power_state", "running"};
	struct store_filter tpl = {"template_id", "tpl"}, notpl = {"template_id", NULL};
	struct store_filter h1_running[2] = {on_h1, running};
	assert_string_equal(page(st, STORE_VM, &on_h1, 1, NULL, 10, NULL), "vm1,vm3,vm5");
	assert_string_equal(page(st, STORE_VM, h1_running, 2, NULL, 10, NULL), "vm1,vm3");
	assert_string_equal(page(st, STORE_VM, &tpl, 1, NULL, 10, NULL), "vm0");
	assert_int_equal(count(st, STORE_VM, &notpl, 1), 5);
	json_t *vm = get(st, STORE_VM, "vm5");
	json_object_set_new(vm, "host_id", json_string("h2"));
	OK(store_update(st, STORE_VM, vm, 1, NULL, &E));
	json_decref(vm);
	assert_string_equal(page(st, STORE_VM, &on_h1, 1, NULL, 10, NULL), "vm1,vm3");
	store_close(st);
}

/* Scoping to a user's projects: a list shows a user the objects of the
 * projects they are a member of and, for templates and networks, shared
 * ones (no project); a get gives the object's project to judge by. */
static void t_member_scope(void **state)
{
	struct store *st = open_store(*state);
	create(st, STORE_MEMBER, with(with(mkdoc("m1", "p1:u1"), "user_id", "u1"), "project_id", "p1"));
	create(st, STORE_MEMBER, with(with(mkdoc("m2", "p3:u1"), "user_id", "u1"), "project_id", "p3"));
	create(st, STORE_MEMBER, with(with(mkdoc("m3", "p2:u2"), "user_id", "u2"), "project_id", "p2"));
	static const struct { const char *id, *project; } vms[] = {
		{"a", "p1"}, {"b", "p2"}, {"c", NULL}, {"d", "p3"}, {"e", "p1"}, {"f", "p2"},
	};
	for (size_t i = 0; i < sizeof(vms) / sizeof(vms[0]); i++) {
		create(st, STORE_VM, with(with(mkdoc(vms[i].id, vms[i].id), "project_id", vms[i].project),
		                          "host_id", "h1"));
		create(st, STORE_TEMPLATE, with(mkdoc(vms[i].id, vms[i].id), "project_id", vms[i].project));
	}
	static const struct {
		enum store_kind kind;
		const char *user, *want;
	} cases[] = {
		{STORE_VM, "u1", "a,d,e"},          {STORE_VM, "u2", "b,f"},
		{STORE_VM, "nobody", ""},           {STORE_TEMPLATE, "u1", "a,c,d,e"},
		{STORE_TEMPLATE, "u2", "b,c,f"},    {STORE_TEMPLATE, "nobody", "c"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_filter f = {STORE_FILTER_MEMBER, cases[i].user};
		assert_string_equal(page(st, cases[i].kind, &f, 1, NULL, 10, NULL), cases[i].want);
	}
	/* With another filter, paging, and counting. */
	struct store_filter two[2] = {{STORE_FILTER_MEMBER, "u1"}, {"host_id", "h1"}};
	char *next = NULL;
	assert_string_equal(page(st, STORE_VM, two, 2, NULL, 2, &next), "a,d");
	assert_string_equal(next, "d");
	assert_string_equal(page(st, STORE_VM, two, 2, "d", 2, NULL), "e");
	free(next);
	assert_int_equal(count(st, STORE_VM, two, 2), 3);
	/* A get gives the project, for the caller to judge; kinds without
	 * projects have none to give. */
	char *owner = NULL;
	ereset();
	char *t = store_get_text_owner(st, STORE_VM, "b", &owner, &E);
	assert_non_null(t);
	assert_string_equal(owner, "p2");
	free(t);
	free(owner);
	t = store_get_text_owner(st, STORE_TEMPLATE, "c", &owner, &E);
	assert_non_null(t);
	assert_null(owner);
	free(t);
	ereset();
	assert_null(store_get_text_owner(st, STORE_VM, "zz", &owner, &E));
	expect_err(404, "not_found");
	assert_null(owner);
	ereset();
	assert_null(store_get_text_owner(st, STORE_HOST, "h1", &owner, &E));
	expect_err(500, "internal");
	/* Kinds without projects cannot be scoped. */
	struct store_filter f = {STORE_FILTER_MEMBER, "u1"};
	ereset();
	assert_null(store_list_text(st, STORE_HOST, &f, 1, NULL, 10, NULL, &E));
	expect_err(400, "invalid_filter");
	/* Leaving a project hides its objects at once. */
	OK(store_delete(st, STORE_MEMBER, "m2", &E));
	assert_string_equal(page(st, STORE_VM, &f, 1, NULL, 10, NULL), "a,e");
	store_close(st);
}

/* VMs and templates are named per project (schema v5): the same name in
 * two projects is two objects, a name lookup says when it is ambiguous,
 * and lists page through repeated names without skipping any. */
static void t_names_per_project(void **state)
{
	struct store *st = open_store(*state);
	create(st, STORE_MEMBER, with(with(mkdoc("m1", "p1:u1"), "user_id", "u1"), "project_id", "p1"));
	create(st, STORE_VM, with(mkdoc("v1", "web"), "project_id", "p1"));
	create(st, STORE_VM, with(mkdoc("v2", "web"), "project_id", "p2"));
	create(st, STORE_VM, with(mkdoc("v3", "web"), "project_id", NULL));
	json_t *d = with(mkdoc("v4", "web"), "project_id", "p2");
	ereset();
	assert_int_equal(store_create(st, STORE_VM, d, NULL, &E), -1);
	expect_err(409, "name_taken");
	assert_non_null(strstr(E.message, "in this project"));
	json_decref(d);
	d = with(mkdoc("v5", "web"), "project_id", NULL);
	ereset();
	assert_int_equal(store_create(st, STORE_VM, d, NULL, &E), -1);
	expect_err(409, "name_taken");
	json_decref(d);
	create(st, STORE_TEMPLATE, with(mkdoc("t1", "base"), "project_id", "p1"));
	create(st, STORE_TEMPLATE, with(mkdoc("t2", "base"), "project_id", "p2"));
	create(st, STORE_TEMPLATE, mkdoc("t3", "base"));
	/* Other kinds keep one name per kind. */
	create(st, STORE_NETWORK, with(mkdoc("n1", "lan"), "project_id", "p1"));
	d = with(mkdoc("n2", "lan"), "project_id", "p2");
	ereset();
	assert_int_equal(store_create(st, STORE_NETWORK, d, NULL, &E), -1);
	expect_err(409, "name_taken");
	json_decref(d);

	/* By id always; by a name that is several objects, 409 ambiguous_name. */
	json_t *g = get(st, STORE_VM, "v2");
	assert_string_equal(json_string_value(json_object_get(g, "project_id")), "p2");
	json_decref(g);
	ereset();
	assert_null(store_get(st, STORE_VM, "web", &E));
	expect_err(409, "ambiguous_name");
	char *owner = NULL;
	ereset();
	assert_null(store_get_text_id_owner(st, STORE_VM, "web", &owner, &E));
	expect_err(404, "not_found");
	char *t = store_get_text_id_owner(st, STORE_VM, "v1", &owner, &E);
	assert_non_null(t);
	assert_string_equal(owner, "p1");
	free(t);
	free(owner);

	/* Lookups by name within a scope, ordered by project (none first). */
	static const struct {
		enum store_kind k;
		enum store_name_scope scope;
		const char *name, *value, *want;
	} cases[] = {
		{STORE_VM, STORE_NAME_ALL, "web", NULL, "v3,v1,v2"},
		{STORE_VM, STORE_NAME_MEMBER, "web", "u1", "v1"},
		{STORE_VM, STORE_NAME_MEMBER, "web", "nobody", ""},
		{STORE_VM, STORE_NAME_PROJECT, "web", "p2", "v2"},
		{STORE_VM, STORE_NAME_PROJECT, "web", NULL, "v3"},
		{STORE_VM, STORE_NAME_PROJECT, "web", "p9", ""},
		{STORE_TEMPLATE, STORE_NAME_MEMBER, "base", "u1", "t3,t1"},
		{STORE_TEMPLATE, STORE_NAME_MEMBER, "base", "nobody", "t3"},
		{STORE_NETWORK, STORE_NAME_ALL, "lan", NULL, "n1"},
		{STORE_VM, STORE_NAME_ALL, "nothing", NULL, ""},
		{STORE_VM, STORE_NAME_ALL, "\xff", NULL, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *docs[4], *projects[4], got[64] = "";
		ereset();
		int n = store_find_name(st, cases[i].k, cases[i].name, cases[i].scope, cases[i].value, 4, docs,
		                        projects, &E);
		assert_true(n >= 0);
		for (int j = 0; j < n; j++) {
			json_t *doc = json_loads(docs[j], 0, NULL);
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", j ? "," : "",
			         json_string_value(json_object_get(doc, "id")));
			json_decref(doc);
			free(docs[j]);
			free(projects[j]);
		}
		assert_string_equal(got, cases[i].want);
	}
	char *docs[2], *projects[2];
	ereset();
	assert_int_equal(store_find_name(st, STORE_HOST, "h", STORE_NAME_ALL, NULL, 2, docs, projects, &E), -1);
	expect_err(500, "internal");

	/* A rename is refused only by a name taken in the same project. */
	g = get(st, STORE_VM, "v1");
	json_object_set_new(g, "name", json_string("db"));
	create(st, STORE_VM, with(mkdoc("v6", "db"), "project_id", "p2"));
	OK(store_update(st, STORE_VM, g, 1, NULL, &E));
	json_decref(g);
	create(st, STORE_VM, with(mkdoc("v7", "cache"), "project_id", "p1"));
	g = get(st, STORE_VM, "v7");
	json_object_set_new(g, "name", json_string("db"));
	ereset();
	assert_int_equal(store_update(st, STORE_VM, g, 1, NULL, &E), -1);
	expect_err(409, "name_taken");
	json_decref(g);

	/* Paging one by one goes through repeated names, next being an id; an
	 * old cursor (a name) goes past every object of that name. */
	create(st, STORE_VM, with(mkdoc("v8", "web"), "project_id", "p1"));
	char seen[128] = "", *next = NULL, *after = NULL;
	do {
		const char *one = page(st, STORE_VM, NULL, 0, after, 1, &next);
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s", *seen ? "," : "", one);
		free(after);
		after = next;
	} while (after && strlen(seen) < 100);
	assert_string_equal(seen, "cache,db,db,web,web,web");
	assert_string_equal(page(st, STORE_VM, NULL, 0, "db", 10, NULL), "web,web,web");
	assert_string_equal(page(st, STORE_VM, NULL, 0, "v2", 10, NULL), "web,web");
	store_close(st);
}

static void t_unknown_filter(void **state)
{
	struct store *st = open_store(*state);
	struct store_filter colour = {"colour", "red"};
	char *next = NULL;
	ereset();
	assert_null(store_list_text(st, STORE_HOST, &colour, 1, NULL, 10, &next, &E));
	expect_err(400, "invalid_filter");
	assert_string_equal(E.field, "colour");
	assert_non_null(strstr(E.message, "cluster_id"));
	ereset();
	assert_int_equal(store_count(st, STORE_HOST, &colour, 1, &E), -1);
	expect_err(400, "invalid_filter");
	assert_string_equal(E.field, "colour");
	/* A column of another kind. */
	struct store_filter state_f = {"state", "x"};
	ereset();
	assert_null(store_list_text(st, STORE_CLUSTER, &state_f, 1, NULL, 10, NULL, &E));
	expect_err(400, "invalid_filter");
	assert_string_equal(E.field, "state");
	struct store_filter name_f = {"name", "x"};
	ereset();
	assert_null(store_list_text(st, STORE_HOST, &name_f, 1, NULL, 10, NULL, &E));
	assert_string_equal(E.field, "name");
	store_close(st);
}

/* The names store_list_prefix_text gives (fails the test on an error). */
static const char *prefixed(struct store *st, enum store_kind k, const struct store_filter *f, int nf,
                            const char *q, int limit, bool *more)
{
	ereset();
	char *text = store_list_prefix_text(st, k, f, nf, q, limit, more, &E);
	if (!text)
		fail_msg("store_list_prefix_text: %u %s: %s", E.status, E.code, E.message);
	const char *names = field_list(text, "name");
	free(text);
	return names;
}

static void t_name_prefix(void **state)
{
	struct store *st = open_store(*state);
	/* Names around the prefix's edges: "wea" and "wec" sort just outside
	 * "web", "web" itself is inside, multi-byte names (U+FFFD, Korean)
	 * after it are too, and "webzzz" still is. */
	static const char *const names[] = {"wea", "web", "web-1", "web-2", "webzzz", "web\xef\xbf\xbd",
	                                    "wec", "x", "\xec\x9b\xb9-1", "\xec\x9b\xb9-2"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char id[16];
		snprintf(id, sizeof(id), "h%zu", i);
		create(st, STORE_HOST, with(mkdoc(id, names[i]), "state", i % 2 ? "ready" : "down"));
	}
	bool more = true;
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "web", 10, &more),
	                    "web,web-1,web-2,webzzz,web\xef\xbf\xbd");
	assert_false(more);
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "web", 2, &more), "web,web-1");
	assert_true(more);
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "web-", 10, &more), "web-1,web-2");
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "\xec\x9b\xb9", 10, &more),
	                    "\xec\x9b\xb9-1,\xec\x9b\xb9-2");
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "nothing", 10, &more), "");
	assert_false(more);
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "", 3, &more), "wea,web,web-1");
	/* Quotes and LIKE's wildcards are text, not patterns. */
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "we%", 10, NULL), "");
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "w_b", 10, NULL), "");
	assert_string_equal(prefixed(st, STORE_HOST, NULL, 0, "'", 10, NULL), "");
	/* With a filter. */
	struct store_filter ready = {"state", "ready"};
	assert_string_equal(prefixed(st, STORE_HOST, &ready, 1, "web", 10, NULL), "web,web-2,web\xef\xbf\xbd");

	/* Scoped to a user's projects, VM names repeating across projects. */
	create(st, STORE_MEMBER, with(with(mkdoc("m1", "p1:u1"), "user_id", "u1"), "project_id", "p1"));
	static const struct { const char *id, *name, *project; } vms[] = {
		{"v1", "db-1", "p1"}, {"v2", "db-1", "p2"}, {"v3", "db-2", "p1"}, {"v4", "dc", "p1"},
	};
	for (size_t i = 0; i < sizeof(vms) / sizeof(vms[0]); i++)
		create(st, STORE_VM, with(mkdoc(vms[i].id, vms[i].name), "project_id", vms[i].project));
	struct store_filter u1 = {STORE_FILTER_MEMBER, "u1"};
	assert_string_equal(prefixed(st, STORE_VM, &u1, 1, "db", 10, NULL), "db-1,db-2");
	assert_string_equal(prefixed(st, STORE_VM, NULL, 0, "db", 10, NULL), "db-1,db-1,db-2");

	/* Tasks are listed by time: no name search; bad text is 400 naming q. */
	ereset();
	assert_null(store_list_prefix_text(st, STORE_TASK, NULL, 0, "x", 10, NULL, &E));
	expect_err(400, "invalid_query");
	assert_string_equal(E.field, "q");
	ereset();
	assert_null(store_list_prefix_text(st, STORE_HOST, NULL, 0, "\xff", 10, NULL, &E));
	expect_err(400, "invalid_query");
	ereset();
	assert_null(store_list_prefix_text(st, STORE_HOST, NULL, 0, "w", 0, NULL, &E));
	assert_int_equal(E.status, 400);
	store_close(st);
}

static void t_paging(void **state)
{
	struct store *st = open_store(*state);
	/* Created out of order; listed by name. */
	for (int i = 0; i < 25; i++) {
		int n = (i * 7) % 25;
		char name[16];
		snprintf(name, sizeof(name), "h%02d", n);
		create(st, STORE_HOST, with(mkdoc(name, name), "state", n < 10 ? "ready" : "down"));
	}
	char *next = NULL;
	assert_string_equal(page(st, STORE_HOST, NULL, 0, NULL, 10, &next),
	                    "h00,h01,h02,h03,h04,h05,h06,h07,h08,h09");
	assert_string_equal(next, "h09");
	char *n2 = NULL;
	assert_string_equal(page(st, STORE_HOST, NULL, 0, next, 10, &n2),
	                    "h10,h11,h12,h13,h14,h15,h16,h17,h18,h19");
	assert_string_equal(n2, "h19");
	char *n3 = (char *)1;
	assert_string_equal(page(st, STORE_HOST, NULL, 0, n2, 10, &n3), "h20,h21,h22,h23,h24");
	assert_null(n3);
	free(next);
	free(n2);
	/* A page that fits exactly has no next. */
	struct store_filter ready = {"state", "ready"};
	next = (char *)1;
	assert_string_equal(page(st, STORE_HOST, &ready, 1, NULL, 10, &next),
	                    "h00,h01,h02,h03,h04,h05,h06,h07,h08,h09");
	assert_null(next);
	assert_string_equal(page(st, STORE_HOST, &ready, 1, NULL, 4, &next), "h00,h01,h02,h03");
	assert_string_equal(next, "h03");
	free(next);
	/* after need not exist; "" is the start. */
	assert_string_equal(page(st, STORE_HOST, &ready, 1, "h05x", 10, NULL), "h06,h07,h08,h09");
	assert_string_equal(page(st, STORE_HOST, NULL, 0, "", 2, NULL), "h00,h01");
	assert_string_equal(page(st, STORE_HOST, NULL, 0, "h24", 10, NULL), "");
	assert_string_equal(page(st, STORE_HOST, NULL, 0, NULL, 1, NULL), "h00");
	store_close(st);
}

static void t_task_paging(void **state)
{
	struct store *st = open_store(*state);
	/* Ids run backwards against creation: tasks list by creation time. */
	for (int i = 11; i >= 0; i--) {
		char id[16];
		snprintf(id, sizeof(id), "t-%02d", i);
		json_t *d = with(with(mkdoc(id, NULL), "op", "vm.start"), "state",
		                 i % 3 ? "done" : "running");
		create(st, STORE_TASK, d);
		usleep(1000);
	}
	char *next = NULL, *n2 = NULL, *n3 = (char *)1;
	assert_string_equal(page(st, STORE_TASK, NULL, 0, NULL, 5, &next), "t-11,t-10,t-09,t-08,t-07");
	assert_string_equal(next, "t-07");
	assert_string_equal(page(st, STORE_TASK, NULL, 0, next, 5, &n2), "t-06,t-05,t-04,t-03,t-02");
	assert_string_equal(page(st, STORE_TASK, NULL, 0, n2, 5, &n3), "t-01,t-00");
	assert_null(n3);
	free(next);
	free(n2);
	struct store_filter running = {"state", "running"};
	assert_string_equal(page(st, STORE_TASK, &running, 1, NULL, 10, NULL), "t-09,t-06,t-03,t-00");
	assert_string_equal(page(st, STORE_TASK, &running, 1, "t-06", 10, NULL), "t-03,t-00");
	assert_int_equal(count(st, STORE_TASK, &running, 1), 4);
	/* A task without a name is found by its id (its name); the document
	 * is left without one. */
	json_t *g = get(st, STORE_TASK, "t-03");
	assert_null(json_object_get(g, "name"));
	json_decref(g);
	/* A cursor that is gone is an error, not an empty page. */
	ereset();
	assert_null(store_list_text(st, STORE_TASK, NULL, 0, "t-99", 5, NULL, &E));
	expect_err(400, "invalid_argument");
	assert_string_equal(E.field, "after");
	/* Newest first (?order=desc): the reverse, paged to older ones. */
	char *d1 = NULL, *d2 = NULL;
	ereset();
	char *text = store_list_text_order(st, STORE_TASK, NULL, 0, NULL, 5, true, &d1, &E);
	assert_string_equal(field_list(text, "id"), "t-00,t-01,t-02,t-03,t-04");
	free(text);
	assert_string_equal(d1, "t-04");
	text = store_list_text_order(st, STORE_TASK, NULL, 0, d1, 5, true, &d2, &E);
	assert_string_equal(field_list(text, "id"), "t-05,t-06,t-07,t-08,t-09");
	free(text);
	text = store_list_text_order(st, STORE_TASK, &running, 1, "t-03", 10, true, NULL, &E);
	assert_string_equal(field_list(text, "id"), "t-06,t-09");
	free(text);
	free(d1);
	free(d2);
	/* Lists by name have no newest first: 400 naming order. */
	ereset();
	assert_null(store_list_text_order(st, STORE_HOST, NULL, 0, NULL, 5, true, NULL, &E));
	expect_err(400, "invalid_query");
	assert_string_equal(E.field, "order");
	/* A task that has a name keeps it, and it must be unique. */
	create(st, STORE_TASK, mkdoc("t-x", "nightly backup"));
	json_t *d = mkdoc("t-y", "nightly backup");
	ereset();
	assert_int_equal(store_create(st, STORE_TASK, d, NULL, &E), -1);
	expect_err(409, "name_taken");
	json_decref(d);
	store_close(st);
}

/* ---- transactions ---- */

static void t_txn_commit(void **state)
{
	struct store *st = open_store(*state);
	OK(store_begin(st, &E));
	OK(store_begin(st, &E));
	create(st, STORE_CLUSTER, mkdoc("a", "a"));
	OK(store_commit(st, &E));
	create(st, STORE_CLUSTER, mkdoc("b", "b"));
	OK(store_commit(st, &E));
	assert_int_equal(count(st, STORE_CLUSTER, NULL, 0), 2);
	ereset();
	assert_int_equal(store_commit(st, &E), -1); /* not in a transaction */
	store_rollback(st);                         /* harmless */
	create(st, STORE_CLUSTER, mkdoc("c", "c"));
	assert_int_equal(count(st, STORE_CLUSTER, NULL, 0), 3);
	store_close(st);
}

static void t_txn_rollback(void **state)
{
	struct store *st = open_store(*state);
	/* The outer level rolls back what an inner level committed. */
	OK(store_begin(st, &E));
	OK(store_begin(st, &E));
	create(st, STORE_CLUSTER, mkdoc("a", "a"));
	OK(store_commit(st, &E));
	create(st, STORE_CLUSTER, mkdoc("b", "b"));
	store_rollback(st);
	expect_absent(st, STORE_CLUSTER, "a");
	expect_absent(st, STORE_CLUSTER, "b");

	/* An inner rollback dooms the whole: nothing half-written. */
	OK(store_begin(st, &E));
	create(st, STORE_CLUSTER, mkdoc("c", "c"));
	OK(store_begin(st, &E));
	create(st, STORE_CLUSTER, mkdoc("d", "d"));
	store_rollback(st);
	json_t *d = mkdoc("e", "e");
	ereset();
	assert_int_equal(store_create(st, STORE_CLUSTER, d, NULL, &E), -1);
	expect_err(500, "transaction_aborted");
	json_decref(d);
	ereset();
	assert_int_equal(store_commit(st, &E), -1);
	expect_err(500, "transaction_aborted");
	assert_int_equal(count(st, STORE_CLUSTER, NULL, 0), 0);

	/* Updates and deletes roll back too. */
	create(st, STORE_CLUSTER, mkdoc("f", "f"));
	OK(store_begin(st, &E));
	json_t *f = get(st, STORE_CLUSTER, "f");
	OK(store_update(st, STORE_CLUSTER, f, 1, NULL, &E));
	OK(store_delete(st, STORE_CLUSTER, "f", &E));
	OK(store_event_add(st, "test", "x", NULL, NULL, NULL, NULL, &E));
	store_rollback(st);
	json_t *g = get(st, STORE_CLUSTER, "f");
	assert_int_equal(json_integer_value(json_object_get(g, "version")), 1);
	ereset();
	char *ev = store_events_text(st, 0, 10, &E);
	assert_string_equal(ev, "[]");
	free(ev);
	json_decref(f);
	json_decref(g);
	store_close(st);
}

static void t_txn_answers(void **state)
{
	struct store *st = open_store(*state);
	/* Duplicates, conflicts and misses are answers inside a transaction,
	 * not failures (on PostgreSQL an error would abort it). */
	OK(store_begin(st, &E));
	create(st, STORE_HOST, mkdoc("a", "a"));
	json_t *d = mkdoc("a", "a2");
	ereset();
	assert_int_equal(store_create(st, STORE_HOST, d, NULL, &E), -1);
	expect_err(409, "id_taken");
	json_decref(d);
	d = mkdoc("a2", "a");
	ereset();
	assert_int_equal(store_create(st, STORE_HOST, d, NULL, &E), -1);
	expect_err(409, "name_taken");
	ereset();
	assert_int_equal(store_update(st, STORE_HOST, d, 1, NULL, &E), -1);
	expect_err(404, "not_found");
	json_decref(d);
	d = mkdoc("a", "a");
	ereset();
	assert_int_equal(store_update(st, STORE_HOST, d, 5, NULL, &E), -1);
	expect_err(409, "version_conflict");
	json_decref(d);
	expect_absent(st, STORE_HOST, "zzz");
	create(st, STORE_HOST, mkdoc("b", "b"));
	OK(store_commit(st, &E));
	assert_string_equal(page(st, STORE_HOST, NULL, 0, NULL, 10, NULL), "a,b");
	store_close(st);
}

static void t_txn_isolation(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c), *other = open_store(c);
	create(st, STORE_NETWORK, mkdoc("n0", "n0"));
	OK(store_begin(st, &E));
	create(st, STORE_NETWORK, mkdoc("n1", "n1"));
	expect_absent(other, STORE_NETWORK, "n1");
	char *t = get_text(other, STORE_NETWORK, "n0"); /* readers do not wait */
	free(t);
	OK(store_commit(st, &E));
	t = get_text(other, STORE_NETWORK, "n1");
	free(t);
	store_close(st);
	store_close(other);
}

/* ---- events ---- */

static void t_events(void **state)
{
	struct store *st = open_store(*state);
	for (int i = 0; i < 12; i++) {
		char detail[16];
		snprintf(detail, sizeof(detail), "%d", i);
		OK(store_event_add(st, i % 2 ? "alice" : NULL, "vm.start", "vm", "vm-1",
		                   i == 3 ? "failed" : "ok", detail, &E));
	}
	ereset();
	char *text = store_events_text(st, 0, 5, &E);
	assert_non_null(text);
	json_t *a = json_loads(text, 0, NULL);
	assert_int_equal(json_array_size(a), 5);
	json_t *first = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(first, "detail")), "11");
	assert_string_equal(json_string_value(json_object_get(first, "actor")), "alice");
	assert_string_equal(json_string_value(json_object_get(first, "action")), "vm.start");
	assert_string_equal(json_string_value(json_object_get(first, "target_kind")), "vm");
	assert_string_equal(json_string_value(json_object_get(first, "target_id")), "vm-1");
	assert_string_equal(json_string_value(json_object_get(first, "outcome")), "ok");
	/* To the millisecond: "2026-12-07T18:31:05.527Z". */
	assert_int_equal(strlen(json_string_value(json_object_get(first, "at"))), 24);
	assert_true(json_is_null(json_object_get(json_array_get(a, 1), "actor")));
	assert_string_equal(field_list(text, "detail"), "11,10,9,8,7");
	int64_t last = json_integer_value(json_object_get(json_array_get(a, 4), "id"));
	assert_true(last > 0);
	json_decref(a);
	free(text);
	ereset();
	text = store_events_text(st, last, 5, &E);
	assert_string_equal(field_list(text, "detail"), "6,5,4,3,2");
	a = json_loads(text, 0, NULL);
	last = json_integer_value(json_object_get(json_array_get(a, 4), "id"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 3), "outcome")),
	                    "failed");
	json_decref(a);
	free(text);
	text = store_events_text(st, last, 5, &E);
	assert_string_equal(field_list(text, "detail"), "1,0");
	free(text);
	/* Oldest first (?order=asc), after an id. */
	text = store_events_text_order(st, 0, true, 3, &E);
	assert_string_equal(field_list(text, "detail"), "0,1,2");
	a = json_loads(text, 0, NULL);
	last = json_integer_value(json_object_get(json_array_get(a, 2), "id"));
	json_decref(a);
	free(text);
	text = store_events_text_order(st, last, true, 3, &E);
	assert_string_equal(field_list(text, "detail"), "3,4,5");
	free(text);
	/* By an action's start, either way; "_" and "%" are themselves, not
	 * LIKE's wildcards. */
	OK(store_event_add(st, "vdcd", "host.ha_failed", "host", "h1", "succeeded", "f", &E));
	OK(store_event_add(st, "vdcd", "host.haXfailed", "host", "h1", "succeeded", "x", &E));
	OK(store_event_add(st, "vdcd", "host.ha_connected", "host", "h1", "succeeded", "c", &E));
	OK(store_event_add(st, "vdcd", "host.ha%", "host", "h1", "succeeded", "p", &E));
	text = store_events_text_action(st, 0, false, "host.ha_", 10, &E);
	assert_string_equal(field_list(text, "detail"), "c,f");
	free(text);
	text = store_events_text_action(st, 0, true, "host.ha_", 10, &E);
	assert_string_equal(field_list(text, "detail"), "f,c");
	free(text);
	text = store_events_text_action(st, 0, false, "host.ha%", 10, &E);
	assert_string_equal(field_list(text, "detail"), "p");
	free(text);
	text = store_events_text_action(st, 0, false, "vm.", 2, &E);
	assert_string_equal(field_list(text, "detail"), "11,10");
	free(text);
	text = store_events_text_action(st, 0, false, "", 2, &E);
	assert_string_equal(field_list(text, "detail"), "p,c");
	free(text);
	ereset();
	assert_int_equal(store_event_add(st, "x", NULL, NULL, NULL, NULL, NULL, &E), -1);
	expect_err(400, "invalid_argument");
	assert_string_equal(E.field, "action");
	ereset();
	assert_int_equal(store_event_add(st, "\xff\xfe", "x", NULL, NULL, NULL, NULL, &E), -1);
	assert_string_equal(E.field, "actor");
	store_close(st);
}

/* ---- secrets ---- */


static void t_secrets(void **state)
{
	struct store *st = open_store(*state);
	char h[65], h2[65];
	hash_of(1, h);
	hash_of(2, h2);
	OK(store_secret_add(st, "join", h, 0, "{\"cluster\":\"c1\"}", &E));
	OK(store_secret_add(st, "api", h, 0, "{\"user\":\"admin\"}", &E));
	char *doc;
	for (int i = 0; i < 2; i++) {
		ereset();
		doc = store_secret_take(st, "join", h, false, 100, &E);
		assert_string_equal(doc, "{\"cluster\":\"c1\"}");
		free(doc);
	}
	ereset();
	doc = store_secret_take(st, "join", h, true, 100, &E);
	assert_string_equal(doc, "{\"cluster\":\"c1\"}");
	free(doc);
	ereset();
	assert_null(store_secret_take(st, "join", h, true, 100, &E));
	expect_err(404, "not_found");
	ereset();
	assert_null(store_secret_take(st, "join", h, false, 100, &E));
	ereset();
	doc = store_secret_take(st, "api", h, false, 100, &E); /* kinds are apart */
	assert_string_equal(doc, "{\"user\":\"admin\"}");
	free(doc);

	/* Expiry. */
	OK(store_secret_add(st, "join", h2, 1000, "{}", &E));
	ereset();
	assert_null(store_secret_take(st, "join", h2, true, 1000, &E));
	expect_err(404, "not_found");
	ereset();
	doc = store_secret_take(st, "join", h2, true, 999, &E);
	assert_string_equal(doc, "{}");
	free(doc);

	/* Bad arguments. */
	ereset();
	assert_int_equal(store_secret_add(st, "api", h, 0, "{}", &E), -1);
	expect_err(409, "id_taken");
	ereset();
	assert_int_equal(store_secret_add(st, "Root!", h2, 0, "{}", &E), -1);
	assert_string_equal(E.field, "kind");
	ereset();
	assert_null(store_secret_take(st, "", h2, false, 0, &E));
	assert_string_equal(E.field, "kind");
	OK(store_secret_add(st, "agent", h2, 0, "{}", &E)); /* vdcd's other kinds */
	char upper[65];
	memcpy(upper, h, sizeof(upper));
	upper[0] = 'A';
	ereset();
	assert_int_equal(store_secret_add(st, "api", upper, 0, "{}", &E), -1);
	assert_string_equal(E.field, "hash");
	ereset();
	assert_int_equal(store_secret_add(st, "api", "abc", 0, "{}", &E), -1);
	assert_string_equal(E.field, "hash");
	ereset();
	assert_null(store_secret_take(st, "api", "not-a-hash' OR '1'='1", true, 0, &E));
	expect_err(400, "invalid_argument");
	ereset();
	assert_int_equal(store_secret_add(st, "api", h2, 0, "{not json", &E), -1);
	assert_string_equal(E.field, "doc");
	ereset();
	assert_int_equal(store_secret_add(st, "api", h2, -1, "{}", &E), -1);
	assert_string_equal(E.field, "expires_at");
	store_close(st);
}

#define ROUNDS 10

struct racer {
	const char *url;
	pthread_barrier_t *barrier;
	int wins[ROUNDS];
	char error[256];
};

static void *race_consume(void *arg)
{
	struct racer *r = arg;
	struct errinfo e = {0};
	struct store *st = store_open(r->url, &e);
	if (!st)
		snprintf(r->error, sizeof(r->error), "open: %s", e.message);
	for (int i = 0; i < ROUNDS; i++) {
		char h[65];
		hash_of(100 + i, h);
		pthread_barrier_wait(r->barrier);
		if (!st)
			continue;
		memset(&e, 0, sizeof(e));
		char *doc = store_secret_take(st, "join", h, true, 10, &e);
		if (doc)
			r->wins[i]++;
		else if (e.status != 404 && !r->error[0])
			snprintf(r->error, sizeof(r->error), "take: %u %s", e.status, e.message);
		free(doc);
	}
	store_close(st);
	return NULL;
}

static void t_secret_race(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	for (int i = 0; i < ROUNDS; i++) {
		char h[65];
		hash_of(100 + i, h);
		OK(store_secret_add(st, "join", h, 0, "{\"once\":true}", &E));
	}
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	struct racer r[NTHREADS];
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		r[i] = (struct racer){.url = c->url, .barrier = &barrier};
		assert_int_equal(pthread_create(&t[i], NULL, race_consume, &r[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < NTHREADS; i++)
		if (r[i].error[0])
			fail_msg("racer %d: %s", i, r[i].error);
	for (int round = 0; round < ROUNDS; round++) {
		int wins = 0;
		for (int i = 0; i < NTHREADS; i++)
			wins += r[i].wins[round];
		assert_int_equal(wins, 1);
	}
	store_close(st);
}

/* ---- concurrency ---- */

struct writer {
	const char *url;
	int n;
	bool got_shared;
	char error[512];
};

#define PER_WRITER 50
#define BUMPS 25

static void *write_many(void *arg)
{
	struct writer *w = arg;
	struct errinfo e = {0};
	struct store *st = store_open(w->url, &e);
	if (!st) {
		snprintf(w->error, sizeof(w->error), "open: %u %s", e.status, e.message);
		return NULL;
	}
	char host[16];
	snprintf(host, sizeof(host), "h%d", w->n);
	for (int i = 0; i < PER_WRITER && !w->error[0]; i++) {
		char id[32];
		snprintf(id, sizeof(id), "vm-%d-%02d", w->n, i);
		json_t *d = with(mkdoc(id, id), "host_id", host);
		memset(&e, 0, sizeof(e));
		if (store_create(st, STORE_VM, d, NULL, &e))
			snprintf(w->error, sizeof(w->error), "create %s: %u %s", id, e.status, e.message);
		json_decref(d);
		if (i == PER_WRITER / 2) {
			/* Everyone wants the same name once. */
			snprintf(id, sizeof(id), "shared-%d", w->n);
			d = mkdoc(id, "shared");
			memset(&e, 0, sizeof(e));
			if (store_create(st, STORE_VM, d, NULL, &e) == 0)
				w->got_shared = true;
			else if (strcmp(e.code, "name_taken"))
				snprintf(w->error, sizeof(w->error), "shared: %u %s", e.status, e.message);
			json_decref(d);
		}
	}
	/* Optimistic increments of one counter: read, bump, retry on conflict. */
	for (int i = 0; i < BUMPS && !w->error[0];) {
		memset(&e, 0, sizeof(e));
		json_t *d = store_get(st, STORE_CLUSTER, "counter", &e);
		if (!d) {
			snprintf(w->error, sizeof(w->error), "get: %u %s", e.status, e.message);
			break;
		}
		int64_t v = json_integer_value(json_object_get(d, "version"));
		json_object_set_new(d, "n", json_integer(json_integer_value(json_object_get(d, "n")) + 1));
		memset(&e, 0, sizeof(e));
		if (store_update(st, STORE_CLUSTER, d, v, NULL, &e) == 0)
			i++;
		else if (strcmp(e.code, "version_conflict"))
			snprintf(w->error, sizeof(w->error), "update: %u %s", e.status, e.message);
		json_decref(d);
	}
	store_close(st);
	return NULL;
}

static void t_concurrent_writers(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	json_t *counter = mkdoc("counter", "counter");
	json_object_set_new(counter, "n", json_integer(0));
	create(st, STORE_CLUSTER, counter);
	struct writer w[NTHREADS];
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct writer){.url = c->url, .n = i};
		assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
	}
	int shared = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].error[0])
			fail_msg("writer %d: %s", i, w[i].error);
		shared += w[i].got_shared;
	}
	assert_int_equal(shared, 1);
	assert_int_equal(count(st, STORE_VM, NULL, 0), NTHREADS * PER_WRITER + 1);
	struct store_filter f = {"host_id", "h2"};
	assert_int_equal(count(st, STORE_VM, &f, 1), PER_WRITER);
	json_t *g = get(st, STORE_CLUSTER, "counter");
	assert_int_equal(json_integer_value(json_object_get(g, "n")), NTHREADS * BUMPS);
	assert_int_equal(json_integer_value(json_object_get(g, "version")), NTHREADS * BUMPS + 1);
	json_decref(g);
	store_close(st);
}

struct opener {
	const char *url;
	int version;
	char error[512];
};

static void *open_one(void *arg)
{
	struct opener *o = arg;
	struct errinfo e = {0};
	struct store *st = store_open(o->url, &e);
	if (!st)
		snprintf(o->error, sizeof(o->error), "%u %s: %s", e.status, e.code, e.message);
	else
		o->version = store_schema_version(st);
	store_close(st);
	return NULL;
}

static void t_concurrent_open(void **state)
{
	struct ctx *c = *state;
	struct opener o[NTHREADS];
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		o[i] = (struct opener){.url = c->url};
		assert_int_equal(pthread_create(&t[i], NULL, open_one, &o[i]), 0);
	}
	/* Every opener joined before any is judged: a failure must not leave
	 * threads holding the store while the next test opens it. */
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		if (o[i].error[0])
			fail_msg("opener %d: %s", i, o[i].error);
		assert_int_equal(o[i].version, store_dialect_sqlite.nmigrations);
	}
}

/* ---- hostile text ---- */

static void t_unicode_roundtrip(void **state)
{
	struct store *st = open_store(*state);
	const char *name = "ünïcødé 名前 \xF0\x9F\x99\x82";
	json_t *d = mkdoc("ü-1", name);
	json_object_set_new(d, "note",
	                    json_string("it's \"quoted\" \\ back\\slash\nnew line\ttab </script> "
	                                "\\u0041 %s%n"));
	json_object_set_new(d, "zero", json_stringn("a\0b", 3));
	json_object_set_new(d, "nested", json_pack("{s:[i,f,b,n], s:{}}", "a", 1, 2.5, 1, "e"));
	size_t big_n = 64 * 1024;
	char *big = malloc(big_n * 2 + 1);
	for (size_t i = 0; i < big_n; i++)
		memcpy(big + 2 * i, "\xC3\xA9", 2); /* é */
	big[big_n * 2] = '\0';
	json_object_set_new(d, "big", json_string(big));
	free(big);
	json_t *out = NULL;
	OK(store_create(st, STORE_DATASTORE, d, &out, &E));
	char *text = get_text(st, STORE_DATASTORE, name);
	char *again = get_text(st, STORE_DATASTORE, "ü-1");
	assert_string_equal(text, again);
	char *dumped = json_dumps(out, JSON_COMPACT);
	assert_string_equal(text, dumped); /* exactly the text the store wrote */
	assert_non_null(strstr(text, "\xF0\x9F\x99\x82"));
	json_t *parsed = json_loads(text, JSON_ALLOW_NUL, NULL);
	assert_true(json_equal(parsed, out));
	assert_int_equal(json_string_length(json_object_get(parsed, "zero")), 3);
	ereset();
	char *list = store_list_text(st, STORE_DATASTORE, NULL, 0, NULL, 10, NULL, &E);
	assert_non_null(list);
	assert_int_equal(strlen(list), strlen(text) + 2);
	assert_int_equal(memcmp(list + 1, text, strlen(text)), 0);
	free(list);
	free(text);
	free(again);
	free(dumped);
	json_decref(parsed);
	json_decref(out);
	json_decref(d);
	store_close(st);
}

static void t_injection(void **state)
{
	struct store *st = open_store(*state);
	static const char *const names[] = {
		"x'); DROP TABLE vms;--", "Robert'); DROP TABLE hosts; --", "\" OR 1=1 --",
		"'; DELETE FROM vms WHERE '1'='1", "a\\'b", "%s%n%x", "$1", "?1 ?", "*/ SELECT 1; /*",
	};
	const char *evil_host = "h'); DROP TABLE vms;--";
	size_t n = sizeof(names) / sizeof(names[0]);
	for (size_t i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "inj-%zu", i);
		create(st, STORE_VM, with(mkdoc(id, names[i]), "host_id", evil_host));
		create(st, STORE_HOST, mkdoc(names[i], names[i])); /* as an id too */
	}
	for (size_t i = 0; i < n; i++) {
		json_t *g = get(st, STORE_VM, names[i]);
		assert_string_equal(json_string_value(json_object_get(g, "name")), names[i]);
		json_decref(g);
		g = get(st, STORE_HOST, names[i]);
		assert_string_equal(json_string_value(json_object_get(g, "id")), names[i]);
		json_decref(g);
	}
	struct store_filter f = {"host_id", evil_host};
	assert_int_equal(count(st, STORE_VM, &f, 1), (int64_t)n);
	assert_int_equal(count(st, STORE_VM, NULL, 0), (int64_t)n);
	assert_int_equal(count(st, STORE_HOST, NULL, 0), (int64_t)n);
	/* Paging past a name full of quotes. */
	char *next = NULL;
	const char *first = page(st, STORE_VM, &f, 1, NULL, 2, &next);
	assert_non_null(first);
	assert_non_null(next);
	const char *rest = page(st, STORE_VM, &f, 1, next, 100, NULL);
	assert_non_null(rest);
	free(next);
	OK(store_delete(st, STORE_HOST, names[0], &E));
	assert_int_equal(count(st, STORE_HOST, NULL, 0), (int64_t)n - 1);
	store_close(st);
}

static void t_hostile_arguments(void **state)
{
	struct store *st = open_store(*state);
	create(st, STORE_HOST, with(mkdoc("h1", "h1"), "state", "ready"));
	static const int bad_limits[] = {0, -1, 10001, INT_MIN, INT_MAX};
	for (size_t i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++) {
		char *next = (char *)1;
		ereset();
		assert_null(store_list_text(st, STORE_HOST, NULL, 0, NULL, bad_limits[i], &next, &E));
		expect_err(400, "invalid_argument");
		assert_string_equal(E.field, "limit");
		assert_null(next);
		ereset();
		assert_null(store_events_text(st, 0, bad_limits[i], &E));
		assert_string_equal(E.field, "limit");
	}
	assert_string_equal(page(st, STORE_HOST, NULL, 0, NULL, 10000, NULL), "h1"); /* the largest page (?fields lists) */
	assert_string_equal(page(st, STORE_HOST, NULL, 0, "a'b\"c;--", 10, NULL), "h1");
	assert_string_equal(page(st, STORE_HOST, NULL, 0, "h1' OR '1'='1", 10, NULL), "");
	char *huge = malloc(64 * 1024 + 1);
	memset(huge, '\'', 64 * 1024);
	huge[64 * 1024] = '\0';
	assert_string_equal(page(st, STORE_HOST, NULL, 0, huge, 10, NULL), "h1");
	expect_absent(st, STORE_HOST, huge);
	expect_absent(st, STORE_HOST, "");
	struct store_filter hf = {"state", huge};
	assert_int_equal(count(st, STORE_HOST, &hf, 1), 0);
	free(huge);

	struct store_filter f[5] = {{"state", "ready"}, {"state", "x"}};
	ereset();
	assert_null(store_list_text(st, STORE_HOST, f, 2, NULL, 10, NULL, &E));
	expect_err(400, "invalid_filter");
	assert_string_equal(E.field, "state");
	ereset();
	assert_null(store_list_text(st, STORE_HOST, f, -1, NULL, 10, NULL, &E));
	expect_err(400, "invalid_filter");
	ereset();
	assert_null(store_list_text(st, STORE_HOST, NULL, 3, NULL, 10, NULL, &E));
	expect_err(400, "invalid_filter");
	struct store_filter odd[3] = {{NULL, "x"}, {"", "x"}, {"state; DROP TABLE hosts", "x"}};
	for (int i = 0; i < 3; i++) {
		ereset();
		assert_int_equal(store_count(st, STORE_HOST, &odd[i], 1, &E), -1);
		expect_err(400, "invalid_filter");
	}
	assert_string_equal(E.field, "state; DROP TABLE hosts");
	struct store_filter many[5] = {{"cluster_id", "a"}, {"state", "b"}, {"cluster_id", "c"}};
	ereset();
	assert_int_equal(store_count(st, STORE_HOST, many, 3, &E), -1);
	expect_err(400, "invalid_filter");

	/* Not UTF-8: the same answers on both backends (PostgreSQL refuses it). */
	expect_absent(st, STORE_HOST, "h\xff\xfe");
	expect_absent(st, STORE_HOST, "\xed\xa0\x80"); /* a UTF-16 surrogate */
	ereset();
	assert_int_equal(store_delete(st, STORE_HOST, "\xc0\xaf", &E), -1);
	expect_err(404, "not_found");
	ereset();
	assert_null(store_list_text(st, STORE_HOST, NULL, 0, "h\xff", 10, NULL, &E));
	expect_err(400, "invalid_argument");
	assert_string_equal(E.field, "after");
	struct store_filter bad_utf8 = {"state", "\xf5\x80\x80\x80"};
	ereset();
	assert_int_equal(store_count(st, STORE_HOST, &bad_utf8, 1, &E), -1);
	expect_err(400, "invalid_filter");
	assert_string_equal(E.field, "state");
	struct store_filter utf8 = {"state", "r\xc3\xa9" "ady \xf0\x9f\x99\x82"};
	assert_int_equal(count(st, STORE_HOST, &utf8, 1), 0);

	ereset();
	assert_null(store_get_text(st, STORE_HOST, NULL, &E));
	expect_err(400, "invalid_argument");
	ereset();
	assert_null(store_get_text(st, (enum store_kind)99, "h1", &E));
	expect_err(500, "internal");
	ereset();
	assert_null(store_events_text(st, -5, 10, &E));
	assert_string_equal(E.field, "before");
	ereset();
	char *ev = store_events_text(st, INT64_MAX, 10, &E);
	assert_string_equal(ev, "[]");
	free(ev);
	assert_int_equal(count(st, STORE_HOST, NULL, 0), 1);
	store_close(st);
}

/* ---- schema ---- */

static void t_migrations(void **state)
{
	struct ctx *c = *state;
	int latest = store_dialect_sqlite.nmigrations;
	assert_int_equal(store_dialect_pg.nmigrations, latest);
	for (int i = 0; i < latest; i++) {
		assert_int_equal(store_dialect_sqlite.migrations[i].version, i + 1);
		assert_int_equal(store_dialect_pg.migrations[i].version, i + 1);
	}
	/* A database left at version 1 (no events, no secrets yet). */
	ereset();
	struct store *st = store_open_version(c->url, 1, &E);
	assert_non_null(st);
	assert_int_equal(store_schema_version(st), 1);
	create(st, STORE_CLUSTER, mkdoc("c-1", "old"));
	ereset();
	assert_int_equal(store_event_add(st, "t", "x", NULL, NULL, NULL, NULL, &E), -1);
	store_close(st);

	/* Opening migrates it to the latest, keeping what was there. */
	st = open_store(c);
	assert_int_equal(store_schema_version(st), latest);
	json_t *g = get(st, STORE_CLUSTER, "old");
	assert_int_equal(json_integer_value(json_object_get(g, "version")), 1);
	json_decref(g);
	OK(store_event_add(st, "t", "x", NULL, NULL, NULL, NULL, &E));
	char h[65];
	hash_of(5, h);
	OK(store_secret_add(st, "api", h, 0, "{}", &E));
	store_close(st);

	/* Again: nothing to do, nothing lost; an older target never downgrades. */
	st = open_store(c);
	assert_int_equal(store_schema_version(st), latest);
	assert_int_equal(count(st, STORE_CLUSTER, NULL, 0), 1);
	store_close(st);
	ereset();
	st = store_open_version(c->url, 2, &E);
	assert_non_null(st);
	assert_int_equal(store_schema_version(st), latest);
	store_close(st);

	/* A database from a newer vdc is refused, not damaged. */
	raw_sql(c, "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')");
	ereset();
	assert_null(store_open(c->url, &E));
	expect_err(500, "schema_too_new");
	assert_non_null(strstr(E.message, "99"));
}

/* v4 -> v5 keeps every VM and template, with its version, and then lets
 * another project reuse a name. */
static void t_migrate_names(void **state)
{
	struct ctx *c = *state;
	ereset();
	struct store *st = store_open_version(c->url, 4, &E);
	assert_non_null(st);
	create(st, STORE_VM, with(with(mkdoc("v1", "web"), "project_id", "p1"), "host_id", "h1"));
	create(st, STORE_VM, mkdoc("v0", "old"));
	create(st, STORE_TEMPLATE, with(mkdoc("t1", "base"), "project_id", "p1"));
	json_t *d = with(mkdoc("v2", "web"), "project_id", "p2");
	ereset();
	assert_int_equal(store_create(st, STORE_VM, d, NULL, &E), -1);
	expect_err(409, "name_taken"); /* v4: one name per kind */
	json_decref(d);
	store_close(st);
	st = open_store(c);
	assert_true(store_schema_version(st) >= 5);
	json_t *g = get(st, STORE_VM, "web");
	assert_string_equal(json_string_value(json_object_get(g, "host_id")), "h1");
	assert_int_equal(json_integer_value(json_object_get(g, "version")), 1);
	json_decref(g);
	create(st, STORE_VM, with(mkdoc("v2", "web"), "project_id", "p2"));
	create(st, STORE_TEMPLATE, with(mkdoc("t2", "base"), "project_id", "p2"));
	d = with(mkdoc("v3", "web"), "project_id", "p1");
	ereset();
	assert_int_equal(store_create(st, STORE_VM, d, NULL, &E), -1);
	expect_err(409, "name_taken");
	json_decref(d);
	struct store_filter f = {"host_id", "h1"};
	assert_string_equal(page(st, STORE_VM, &f, 1, NULL, 10, NULL), "web");
	assert_string_equal(page(st, STORE_VM, NULL, 0, NULL, 10, NULL), "old,web,web");
	assert_int_equal(count(st, STORE_TEMPLATE, NULL, 0), 2);
	store_close(st);
}

/* WAL frames (pages written) since the last checkpoint of the SQLite file. */
static int wal_frames(const char *path, bool restart)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	int log = -1, done = -1;
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, restart ? SQLITE_CHECKPOINT_TRUNCATE
	                                                            : SQLITE_CHECKPOINT_PASSIVE, &log, &done),
	                 SQLITE_OK);
	sqlite3_close(db);
	return log;
}

/* An update assigns only the mirrored columns that change: both databases
 * rewrite an index entry whenever an UPDATE assigns its column, even to the
 * value it holds. Each case also reads back through the filters (both
 * backends); on SQLite the pages written are counted. */
static void t_update_changed_columns(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	for (int i = 0; i < 300; i++) { /* index pages of their own for t-x */
		char id[16];
		snprintf(id, sizeof(id), "t-%03d", i);
		create(st, STORE_TASK, with(with(with(mkdoc(id, NULL), "op", "vm.start"), "state", "queued"),
		                            "target_id", i % 2 ? "vm-a" : "vm-b"));
	}
	create(st, STORE_TASK, with(with(with(mkdoc("t-x", NULL), "op", "vm.create"), "state", "queued"),
	                            "target_id", "vm-x"));
	static const struct {
		const char *key, *value; /* value NULL: the key removed */
		int max_frames;          /* table leaf, and each index entry that moves */
		const char *filter, *filter_value;
	} cases[] = {
		{"message", "running", 1, "state", "queued"},    /* no mirrored column */
		{"state", "running", 3, "state", "running"},     /* one index entry moves */
		{"op", "vm.stop", 3, "op", "vm.stop"},
		{"target_id", NULL, 3, "target_id", NULL},        /* to NULL */
		{"target_id", "vm-y", 3, "target_id", "vm-y"},    /* from NULL */
		{"state", "running", 1, "state", "running"},     /* assigned its own value */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *d = get(st, STORE_TASK, "t-x");
		if (cases[i].value)
			json_object_set_new(d, cases[i].key, json_string(cases[i].value));
		else
			json_object_del(d, cases[i].key);
		if (!c->pg)
			wal_frames(c->path, true);
		OK(store_update(st, STORE_TASK, d, json_integer_value(json_object_get(d, "version")), NULL, &E));
		if (!c->pg) {
			int frames = wal_frames(c->path, false);
			if (frames > cases[i].max_frames)
				fail_msg("case %zu (%s): %d pages written, at most %d expected", i, cases[i].key, frames,
				         cases[i].max_frames);
		}
		json_decref(d);
		struct store_filter f = {cases[i].filter, cases[i].filter_value};
		/* the one task with that value (every other one is queued
		 * vm.start with a target) */
		if (strcmp(cases[i].filter, "state"))
			assert_string_equal(page(st, STORE_TASK, &f, 1, NULL, 400, NULL), "t-x");
		else
			assert_int_equal(count(st, STORE_TASK, &f, 1), !strcmp(cases[i].filter_value, "queued") ? 301 : 1);
	}
	json_t *g = get(st, STORE_TASK, "t-x");
	assert_string_equal(json_string_value(json_object_get(g, "message")), "running");
	assert_string_equal(json_string_value(json_object_get(g, "op")), "vm.stop");
	assert_int_equal(json_integer_value(json_object_get(g, "version")), 7);
	json_decref(g);
	/* A rename moves its name's entry and is read back by the new name. */
	json_t *h = with(mkdoc("h-1", "alpha"), "state", "ready");
	create(st, STORE_HOST, h);
	h = get(st, STORE_HOST, "alpha");
	json_object_set_new(h, "name", json_string("beta"));
	OK(store_update(st, STORE_HOST, h, 1, NULL, &E));
	json_decref(h);
	h = get(st, STORE_HOST, "beta");
	assert_string_equal(json_string_value(json_object_get(h, "id")), "h-1");
	json_decref(h);
	store_close(st);
}

/* The plans of every statement: no full table scan, no sort. */
static void t_statements_use_indexes(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	store_close(st);
	int checked = 0;
	char sql[4096], q[4200];
	if (!c->pg) {
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
		for (int slot = 0; slot < STORE_NSLOTS; slot++) {
			if (store_sql_text(slot, sql, sizeof(sql)) < 0)
				continue;
			for (char *p = sql; *p; p++)
				if (*p == '$')
					*p = '?';
			snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
			sqlite3_stmt *stmt = NULL;
			if (sqlite3_prepare_v2(db, q, -1, &stmt, NULL) != SQLITE_OK)
				fail_msg("%s: %s", sql, sqlite3_errmsg(db));
			/* A list limited to a user's projects gathers them through the
			 * project index and sorts them: cheaper than walking every
			 * object in name order when a user sees a few of many. */
			bool member = strstr(sql, "FROM members WHERE user_id") != NULL;
			while (sqlite3_step(stmt) == SQLITE_ROW) {
				const char *detail = (const char *)sqlite3_column_text(stmt, 3);
				/* A batch's VALUES list is read through, no table. */
				if ((!strncmp(detail, "SCAN ", 5) && !strstr(detail, " USING ") && !strstr(detail, "CONSTANT ROWS")) ||
				    (strstr(detail, "TEMP B-TREE") && !member))
					fail_msg("%s: %s", sql, detail);
			}
			sqlite3_finalize(stmt);
			checked++;
		}
		sqlite3_close(db);
	} else {
		PGconn *pc = PQconnectdb(c->url);
		assert_int_equal(PQstatus(pc), CONNECTION_OK);
		PQclear(PQexec(pc, "SET enable_seqscan = off"));
		PQclear(PQexec(pc, "SET plan_cache_mode = force_generic_plan"));
		for (int slot = 0; slot < STORE_NSLOTS; slot++) {
			if (store_sql_text(slot, sql, sizeof(sql)) < 0)
				continue;
			PGresult *r = PQprepare(pc, "x", sql, 0, NULL);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				fail_msg("%s: %s", sql, PQresultErrorMessage(r));
			PQclear(r);
			r = PQdescribePrepared(pc, "x");
			int np = PQnparams(r);
			PQclear(r);
			snprintf(q, sizeof(q), "EXPLAIN EXECUTE x");
			for (int i = 0; i < np; i++)
				snprintf(q + strlen(q), sizeof(q) - strlen(q), "%s'0'", i ? ", " : "(");
			snprintf(q + strlen(q), sizeof(q) - strlen(q), "%s", np ? ")" : "");
			r = PQexec(pc, q);
			if (PQresultStatus(r) != PGRES_TUPLES_OK)
				fail_msg("%s: %s", q, PQresultErrorMessage(r));
			for (int i = 0; i < PQntuples(r); i++)
				if (strstr(PQgetvalue(r, i, 0), "Seq Scan"))
					fail_msg("%s: %s", sql, PQgetvalue(r, i, 0));
			PQclear(r);
			PQclear(PQexec(pc, "DEALLOCATE x"));
			checked++;
		}
		PQfinish(pc);
	}
	print_message("# %s: %d statement plans checked\n", c->pg ? "postgresql" : "sqlite",
	              checked);
	assert_true(checked > 400);
}

/* ---- failures ---- */

static void t_unreachable(void **state)
{
	struct ctx *c = *state;
	ereset();
	if (c->pg) {
		assert_null(store_open("postgresql://postgres@127.0.0.1:1/vdc?connect_timeout=3", &E));
		expect_err(503, "store_unavailable");
		assert_non_null(strstr(E.message, "127.0.0.1"));
		assert_non_null(strstr(E.message, "running"));
		ereset();
		assert_null(store_open("postgresql://u:secret@127.0.0.1:1/vdc", &E));
		assert_null(strstr(E.message, "secret")); /* never the password */
		ereset();
		assert_null(store_open("postgresql://h/db?nonsense=1", &E));
		expect_err(400, "invalid_url");
	} else {
		assert_null(store_open("sqlite:/nonexistent-vdc-dir/sub/vdc.db", &E));
		expect_err(503, "store_unavailable");
		assert_non_null(strstr(E.message, "directory"));
		ereset();
		assert_null(store_open("sqlite:", &E));
		expect_err(400, "invalid_url");
		/* Not a database at all. */
		char path[600];
		snprintf(path, sizeof(path), "%s/junk.db", c->dir);
		FILE *f = fopen(path, "w");
		fputs("this is not an SQLite database, not even close, no. ", f);
		for (int i = 0; i < 100; i++)
			fputs("junk junk junk junk junk junk junk junk junk junk\n", f);
		fclose(f);
		char url[700];
		snprintf(url, sizeof(url), "sqlite:%s", path);
		ereset();
		assert_null(store_open(url, &E));
		expect_err(500, "store_corrupt");
	}
	ereset();
	assert_null(store_open("mysql://localhost/vdc", &E));
	expect_err(400, "invalid_url");
	ereset();
	assert_null(store_open(NULL, &E));
	expect_err(400, "invalid_url");
}

static void kill_store_connections(const char *url)
{
	pg_sql(url, "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
	            " WHERE application_name = 'vdcd' AND pid <> pg_backend_pid()");
}

static void t_pg_connection_lost(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	create(st, STORE_HOST, mkdoc("h1", "h1"));

	/* A connection the server dropped while idle is noticed and replaced
	 * before use: reads and writes go through. */
	kill_store_connections(c->url);
	create(st, STORE_HOST, mkdoc("h2", "h2"));
	kill_store_connections(c->url);
	char *t = get_text(st, STORE_HOST, "h2");
	free(t);

	/* Inside a transaction the loss is a 503 that says what to do, and
	 * nothing of the transaction is kept. */
	OK(store_begin(st, &E));
	create(st, STORE_HOST, mkdoc("h3", "h3"));
	kill_store_connections(c->url);
	json_t *d = mkdoc("h4", "h4");
	ereset();
	assert_int_equal(store_create(st, STORE_HOST, d, NULL, &E), -1);
	expect_err(503, "store_unavailable");
	assert_non_null(strstr(E.message, "lost the connection"));
	assert_non_null(strstr(E.message, "running"));
	assert_non_null(strstr(E.message, "reconnects"));
	ereset();
	assert_int_equal(store_commit(st, &E), -1);
	expect_absent(st, STORE_HOST, "h3");
	OK(store_create(st, STORE_HOST, d, NULL, &E));
	json_decref(d);
	assert_int_equal(count(st, STORE_HOST, NULL, 0), 3);

	/* The server refuses connections for a while (as when it is down). */
	char db[256];
	pg_dbname(c->url, db, sizeof(db));
	kill_store_connections(c->url);
	pg_allow_connections(c->url, db, false);
	for (int i = 0; i < 2; i++) {
		ereset();
		assert_null(store_get_text(st, STORE_HOST, "h1", &E));
		expect_err(503, "store_unavailable");
		assert_non_null(strstr(E.message, "running"));
	}
	d = mkdoc("h9", "h9");
	ereset();
	assert_int_equal(store_create(st, STORE_HOST, d, NULL, &E), -1);
	expect_err(503, "store_unavailable");
	json_decref(d);
	ereset();
	assert_null(store_open(c->url, &E));
	expect_err(503, "store_unavailable");
	pg_allow_connections(c->url, db, true);
	t = get_text(st, STORE_HOST, "h1");
	free(t);
	store_close(st);
}

/* ---- speed ---- */

static void t_get_speed(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	enum { N = 1000 };
	OK(store_begin(st, &E));
	for (int i = 0; i < N; i++) {
		char id[48], name[32];
		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
		snprintf(name, sizeof(name), "vm-%04d", i);
		json_t *d = with(with(mkdoc(id, name), "host_id", "h1"), "power_state", "running");
		json_object_set_new(d, "spec", json_pack("{s:i, s:i, s:[{s:s, s:i}]}", "cpus", 2,
		                                         "memory_mib", 1024, "disks", "name", "root",
		                                         "size_gib", 10));
		create(st, STORE_VM, d);
	}
	OK(store_commit(st, &E));
	const char *modes[] = {"id", "name"};
	for (int m = 0; m < 2; m++) {
		int gets = 0;
		double t0 = now_s(), t1;
		do {
			for (int i = 0; i < 500; i++, gets++) {
				char key[48];
				if (m == 0)
					snprintf(key, sizeof(key), "00000000-0000-4000-8000-%012d", gets % N);
				else
					snprintf(key, sizeof(key), "vm-%04d", gets % N);
				ereset();
				char *t = store_get_text(st, STORE_VM, key, &E);
				if (!t)
					fail_msg("get %s: %s", key, E.message);
				free(t);
			}
			t1 = now_s();
		} while (t1 - t0 < 0.5);
		double rate = gets / (t1 - t0);
		print_message("# %s: store_get_text by %s: %.0f per second (one thread)\n",
		              c->pg ? "postgresql" : "sqlite", modes[m], rate);
		assert_true(rate > 1000);
	}
	store_close(st);
}

/* ---- main ---- */

struct test_def {
	const char *name;
	CMUnitTestFunction fn;
};

/* ---- demand history ---- */

struct hist_seen {
	int n;
	int64_t t[8];
	char doc[8][64];
};

static int hist_collect(void *ctx, int64_t t_ms, const char *doc)
{
	struct hist_seen *h = ctx;
	if (h->n < 8) {
		h->t[h->n] = t_ms;
		snprintf(h->doc[h->n], sizeof(h->doc[0]), "%s", doc);
	}
	h->n++;
	return 0;
}

static void t_history(void **state)
{
	struct ctx *c = *state;
	struct store *st = open_store(c);
	/* A batch in one transaction, as vdcd flushes it. */
	OK(store_begin(st, &E));
	for (int i = 0; i < 3; i++)
		OK(store_history_put(st, "vm", "vm-1", 0, 60000ll * i, "{\"n\":[1]}", &E));
	OK(store_history_put(st, "vm", "vm-1", 1, 0, "{\"tier\":1}", &E));
	OK(store_history_put(st, "vm", "vm-2", 0, 180000, "{\"other\":1}", &E));
	OK(store_history_put(st, "host", "vm-1", 0, 180000, "{\"host\":1}", &E));
	OK(store_commit(st, &E));
	/* The open bucket written again: replaced, not doubled. */
	OK(store_history_put(st, "vm", "vm-1", 0, 120000, "{\"n\":[2]}", &E));
	struct hist_seen h = {0};
	OK(store_history_each(st, "vm", "vm-1", 0, 60000, hist_collect, &h, &E));
	assert_int_equal(h.n, 2); /* from 60000 on, oldest first, this object and tier only */
	assert_int_equal(h.t[0], 60000);
	assert_int_equal(h.t[1], 120000);
	assert_string_equal(h.doc[1], "{\"n\":[2]}");
	int64_t t = 0;
	char *doc = NULL;
	assert_int_equal(store_history_last(st, "vm", "vm-1", 0, &t, &doc, &E), 1);
	assert_int_equal(t, 120000);
	assert_string_equal(doc, "{\"n\":[2]}");
	free(doc);
	assert_int_equal(store_history_last(st, "vm", "vm-9", 0, &t, &doc, &E), 0);
	assert_null(doc);
	/* Trimming a tier leaves the other tiers alone. */
	OK(store_history_trim(st, 0, 60000, &E));
	h = (struct hist_seen){0};
	OK(store_history_each(st, "vm", "vm-1", 0, 0, hist_collect, &h, &E));
	assert_int_equal(h.n, 2);
	h = (struct hist_seen){0};
	OK(store_history_each(st, "vm", "vm-1", 1, 0, hist_collect, &h, &E));
	assert_int_equal(h.n, 1);
	/* Dropping an object takes all its tiers, and nobody else's. */
	OK(store_history_drop(st, "vm", "vm-1", &E));
	h = (struct hist_seen){0};
	OK(store_history_each(st, "vm", "vm-1", 1, 0, hist_collect, &h, &E));
	OK(store_history_each(st, "vm", "vm-1", 0, 0, hist_collect, &h, &E));
	assert_int_equal(h.n, 0);
	OK(store_history_each(st, "vm", "vm-2", 0, 0, hist_collect, &h, &E));
	OK(store_history_each(st, "host", "vm-1", 0, 0, hist_collect, &h, &E));
	assert_int_equal(h.n, 2);
	/* Many at once: whole statements of STORE_HIST_BATCH rows, then the
	 * rest one by one; written again, replaced. */
	for (int pass = 0; pass < 2; pass++) {
		struct store_history_row rows[2 * STORE_HIST_BATCH + 5];
		char docs[2 * STORE_HIST_BATCH + 5][32];
		size_t n = sizeof(rows) / sizeof(rows[0]);
		for (size_t i = 0; i < n; i++) {
			snprintf(docs[i], sizeof(docs[i]), "{\"pass\":%d}", pass);
			rows[i] = (struct store_history_row){"host", "h-9", (int)(i % 3), (int64_t)i * 1000, docs[i]};
		}
		OK(store_begin(st, &E));
		OK(store_history_put_many(st, rows, n, &E));
		OK(store_commit(st, &E));
	}
	int per_tier[3] = {0};
	for (int tier = 0; tier < 3; tier++) {
		h = (struct hist_seen){0};
		OK(store_history_each(st, "host", "h-9", tier, 0, hist_collect, &h, &E));
		per_tier[tier] = h.n;
		assert_string_equal(h.doc[0], "{\"pass\":1}");
	}
	assert_int_equal(per_tier[0] + per_tier[1] + per_tier[2], 2 * STORE_HIST_BATCH + 5);
	/* A rolled-back batch leaves nothing. */
	OK(store_begin(st, &E));
	OK(store_history_put(st, "vm", "vm-3", 0, 0, "{}", &E));
	store_rollback(st);
	assert_int_equal(store_history_last(st, "vm", "vm-3", 0, &t, &doc, &E), 0);
	store_close(st);
}

static const struct test_def tests[] = {
	{"create and get by id and by name", t_create_get},
	{"duplicate id and name are 409", t_duplicates},
	{"invalid documents are 400 naming the field", t_invalid_documents},
	{"update checks the version", t_update},
	{"update writes only the columns that change", t_update_changed_columns},
	{"delete and 404", t_delete},
	{"filters on mirrored columns and count", t_filters},
	{"scoped to a user's projects: lists and gets", t_member_scope},
	{"VM and template names are unique per project", t_names_per_project},
	{"unknown filter field is 400 naming it", t_unknown_filter},
	{"paging by name with after, limit and next", t_paging},
	{"name prefix search: one index range, bounded", t_name_prefix},
	{"tasks page by creation time", t_task_paging},
	{"nested transactions commit once", t_txn_commit},
	{"rollback leaves nothing half-written", t_txn_rollback},
	{"409 and 404 inside a transaction do not abort it", t_txn_answers},
	{"uncommitted writes are invisible to other handles", t_txn_isolation},
	{"events: add and page newest first", t_events},
	{"secrets: add, take, consume, expire", t_secrets},
	{"secrets: one of racing consumers wins", t_secret_race},
	{"history: batched buckets, replace, trim, drop", t_history},
	{"concurrent writers on their own handles", t_concurrent_writers},
	{"concurrent first opens migrate once", t_concurrent_open},
	{"unicode and quotes round-trip byte-exact", t_unicode_roundtrip},
	{"SQL-injection-looking text is stored literally", t_injection},
	{"hostile list, filter and paging arguments", t_hostile_arguments},
	{"migrations from an older version, idempotent", t_migrations},
	{"v5 keeps VMs and templates and names them per project", t_migrate_names},
	{"every statement uses an index", t_statements_use_indexes},
	{"unreachable store is 503 with what to do", t_unreachable},
	{"dropped PostgreSQL connection: reconnect, or 503 saying what to do", t_pg_connection_lost},
	{"store_get_text speed", t_get_speed},
};
#define NTESTS (sizeof(tests) / sizeof(tests[0]))

static int run_suite(const char *backend, bool pg)
{
	static char names[NTESTS][128];
	struct CMUnitTest t[NTESTS];
	size_t n = 0;
	suite_pg = pg;
	for (size_t i = 0; i < NTESTS; i++) {
		/* Left out rather than skipped: cmocka's TAP calls a skip "not ok". */
		if (!pg && tests[i].fn == t_pg_connection_lost)
			continue;
		snprintf(names[n], sizeof(names[n]), "%s: %s", backend, tests[i].name);
		t[n] = (struct CMUnitTest){names[n], tests[i].fn, st_setup, st_teardown, NULL};
		n++;
	}
	return _cmocka_run_group_tests(backend, t, n, NULL, NULL);
}

int main(int argc, char **argv)
{
	return storetest_main(argc, argv, "test_store", run_suite);
}
