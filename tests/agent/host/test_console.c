/* test_console.c - the serial console log: pumping from a socket into the
 * file, rotation at the cap (no file ever above it, no byte lost at the
 * seam), and console_tail across the rotated file and the current one. */
#include "testutil.h"

#include "console.h"
#include "fsutil.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct ctx {
	char *dir;
	char path[600], old[610];
};

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));
	x->dir = tu_tmpdir();
	snprintf(x->path, sizeof(x->path), "%s/console.log", x->dir);
	snprintf(x->old, sizeof(x->old), "%s.1", x->path);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;
	fs_remove_tree(x->dir);
	free(x->dir);
	free(x);
	return 0;
}

/* Byte i of a recognisable stream: letters, a newline every 64. */
static char stream_byte(size_t i)
{
	return i % 64 == 63 ? '\n' : (char)('a' + i % 26);
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static char *slurp(const char *path, size_t *len)
{
	char *s = fs_read_all(path, 1 << 24, len);
	if (!s && errno == ENOENT) {
		*len = 0;
		return strdup("");
	}
	assert_non_null(s);
	return s;
}

/* Opens the log at cap and connects it to one end of a socketpair; returns
 * the other end, which plays QEMU. */
static int open_pumped(struct console *c, const char *path, size_t cap)
{
	int sv[2];
	assert_int_equal(console_open(c, path, cap), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	c->sock = sv[0];
	return sv[1];
}

static void send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);
		assert_true(w > 0);
		s += w;
		len -= (size_t)w;
	}
}

static void test_pump(void **state)
{
	struct ctx *x = *state;
	struct console c;
	int qemu = open_pumped(&c, x->path, 4096);
	assert_int_equal(c.size, 0);
	/* Nothing to read is not the end. */
	assert_int_equal(console_pump(&c), 0);
	send_all(qemu, "login: ", 7);
	assert_int_equal(console_pump(&c), 0);
	send_all(qemu, "root\n", 5);
	assert_int_equal(console_pump(&c), 0);
	assert_int_equal(c.size, 12);
	size_t len;
	char *s = slurp(x->path, &len);
	assert_string_equal(s, "login: root\n");
	free(s);
	/* QEMU gone: the pump says so. */
	close(qemu);
	assert_int_equal(console_pump(&c), -1);
	console_close(&c);
	assert_int_equal(c.sock, -1);
	assert_int_equal(c.logfd, -1);
	console_close(&c); /* twice is harmless */

	/* Reopening appends and knows the size already there. */
	qemu = open_pumped(&c, x->path, 4096);
	assert_int_equal(c.size, 12);
	send_all(qemu, "# ", 2);
	assert_int_equal(console_pump(&c), 0);
	s = slurp(x->path, &len);
	assert_string_equal(s, "login: root\n# ");
	free(s);
	close(qemu);
	console_close(&c);
}

static void test_open_fails(void **state)
{
	struct ctx *x = *state;
	char bad[700];
	snprintf(bad, sizeof(bad), "%s/missing/console.log", x->dir);
	struct console c;
	assert_int_equal(console_open(&c, bad, 4096), -ENOENT);
	assert_int_equal(c.logfd, -1);
	console_close(&c);
}

/* Writes total bytes of the stream in chunks of the given sizes (cycled),
 * pumping after each, and checks the bound after every pump. */
static void pump_stream(struct ctx *x, size_t cap, size_t total, const size_t *chunks,
                        size_t nchunks)
{
	struct console c;
	int qemu = open_pumped(&c, x->path, cap);
	char *buf = malloc(total);
	assert_non_null(buf);
	for (size_t i = 0; i < total; i++)
		buf[i] = stream_byte(i);
	size_t sent = 0;
	for (size_t k = 0; sent < total; k++) {
		size_t n = chunks[k % nchunks];
		if (n > total - sent)
			n = total - sent;
		send_all(qemu, buf + sent, n);
		sent += n;
		assert_int_equal(console_pump(&c), 0);
		/* The bound holds at every moment, not just at the end. */
		assert_true(file_size(x->path) <= (off_t)cap);
		assert_true(file_size(x->old) <= (off_t)cap);
		assert_int_equal(c.size, file_size(x->path));
	}
	close(qemu);
	console_close(&c);

	/* .1 then the current file are the stream's tail, with no gap. */
	size_t l_old, l_cur;
	char *old = slurp(x->old, &l_old), *cur = slurp(x->path, &l_cur);
	assert_true(l_old + l_cur <= total);
	if (total > cap) {
		assert_int_equal(l_old, cap); /* rotation happens exactly at the cap */
		assert_int_equal(l_cur, total % cap);
	}
	size_t base = total - l_old - l_cur;
	assert_memory_equal(old, buf + base, l_old);
	assert_memory_equal(cur, buf + base + l_old, l_cur);
	free(old);
	free(cur);
	free(buf);
}

static void test_rotation_small_writes(void **state)
{
	static const size_t chunks[] = {100, 1, 999, 64};
	pump_stream(*state, 4096, 20000, chunks, ARRAY_LEN(chunks));
}

static void test_rotation_large_writes(void **state)
{
	/* Single writes larger than the cap and than the pump's buffer. */
	static const size_t chunks[] = {5000, 10000, 4096, 3};
	pump_stream(*state, 4096, 40000, chunks, ARRAY_LEN(chunks));
}

static void test_rotation_exact(void **state)
{
	static const size_t chunks[] = {4096};
	pump_stream(*state, 4096, 4096 * 3, chunks, ARRAY_LEN(chunks));
}

static void test_tail(void **state)
{
	struct ctx *x = *state;
	/* No log at all: an empty string, not an error. */
	size_t len = 99;
	char *t = console_tail(x->path, 100, &len);
	assert_non_null(t);
	assert_string_equal(t, "");
	assert_int_equal(len, 0);
	free(t);

	/* Only the current file. */
	tu_write_file(x->path, "0123456789", 10);
	t = console_tail(x->path, 4, &len);
	assert_string_equal(t, "6789");
	assert_int_equal(len, 4);
	free(t);
	t = console_tail(x->path, 100, NULL);
	assert_string_equal(t, "0123456789");
	free(t);
	t = console_tail(x->path, 0, &len);
	assert_string_equal(t, "");
	assert_int_equal(len, 0);
	free(t);

	/* The rotated file holds what came before the current one. */
	tu_write_file(x->old, "ABCDEFGHIJ", 10);
	static const struct {
		size_t max;
		const char *want;
	} cases[] = {
		{0, ""},
		{3, "789"},
		{10, "0123456789"},
		{11, "J0123456789"},
		{15, "FGHIJ0123456789"},
		{20, "ABCDEFGHIJ0123456789"},
		{1000, "ABCDEFGHIJ0123456789"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		t = console_tail(x->path, cases[i].max, &len);
		assert_non_null(t);
		if (strcmp(t, cases[i].want) != 0 || len != strlen(cases[i].want))
			fail_msg("max %zu: '%s' (%zu), want '%s'", cases[i].max, t, len, cases[i].want);
		free(t);
	}

	/* Just rotated: the current file is empty, or gone. */
	tu_write_file(x->path, "", 0);
	t = console_tail(x->path, 4, &len);
	assert_string_equal(t, "GHIJ");
	free(t);
	unlink(x->path);
	t = console_tail(x->path, 4, &len);
	assert_string_equal(t, "GHIJ");
	free(t);
}

/* The tail of a log written by the pump is the stream's tail. */
static void test_tail_after_pump(void **state)
{
	struct ctx *x = *state;
	static const size_t chunks[] = {777};
	const size_t cap = 4096, total = 10000;
	pump_stream(x, cap, total, chunks, ARRAY_LEN(chunks));
	size_t len;
	char *t = console_tail(x->path, 5000, &len);
	assert_int_equal(len, 5000);
	for (size_t i = 0; i < len; i++)
		if (t[i] != stream_byte(total - len + i))
			fail_msg("byte %zu of the tail is wrong", i);
	free(t);
}

/* Offsets count every byte ever logged, across rotations: a reader that
 * asks from where the last reply ended gets the stream, no byte twice or
 * missing; one that fell behind the rotation, or asks past the end, starts
 * at the oldest byte kept (and *start says so). */
static void test_from_offsets(void **state)
{
	struct ctx *x = *state;
	static const size_t chunks[] = {333};
	const size_t cap = 1000, total = 5500; /* rotated 5 times: 4000..5000 in .1, 5000..5500 current */
	pump_stream(x, cap, total, chunks, ARRAY_LEN(chunks));
	assert_int_equal(console_end(x->path), total);
	static const struct {
		unsigned long long offset;
		size_t max;
		unsigned long long start;
		size_t len;
	} cases[] = {
		{5200, 100, 5200, 100}, /* in the current file */
		{4990, 20, 4990, 20},   /* across .1 and the current file */
		{4000, 2000, 4000, 1500}, /* the oldest kept byte on */
		{4500, 10, 4500, 10},   /* inside .1 */
		{5500, 100, 5500, 0},   /* at the end: nothing new */
		{100, 50, 4000, 50},    /* rotated away: from the oldest kept */
		{9999, 50, 4000, 50},   /* past the end (a new log): from its start */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		unsigned long long start = 7;
		size_t len = 7;
		char *t = console_from(x->path, cases[i].offset, cases[i].max, &start, &len);
		assert_non_null(t);
		if (start != cases[i].start || len != cases[i].len)
			fail_msg("offset %llu max %zu: start %llu len %zu, want %llu %zu", cases[i].offset,
			         cases[i].max, start, len, cases[i].start, cases[i].len);
		for (size_t k = 0; k < len; k++)
			if (t[k] != stream_byte((size_t)start + k))
				fail_msg("offset %llu: byte %zu is wrong", cases[i].offset, k);
		free(t);
	}
	/* Reading on from each reply's end walks the kept stream exactly. */
	unsigned long long at = 4000, start;
	size_t len, got = 0;
	do {
		char *t = console_from(x->path, at, 77, &start, &len);
		assert_int_equal(start, at);
		for (size_t k = 0; k < len; k++)
			assert_int_equal(t[k], stream_byte((size_t)at + k));
		free(t);
		at += len;
		got += len;
	} while (len);
	assert_int_equal(got, 1500);
	/* Reopened (an agent restart), the offsets go on. */
	struct console c;
	int qemu = open_pumped(&c, x->path, cap);
	send_all(qemu, "zz", 2);
	assert_int_equal(console_pump(&c), 0);
	close(qemu);
	console_close(&c);
	assert_int_equal(console_end(x->path), total + 2);
	char *t = console_from(x->path, total, 10, &start, &len);
	assert_int_equal(start, total);
	assert_int_equal(len, 2);
	assert_memory_equal(t, "zz", 2);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_small_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_large_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_after_pump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_offsets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
