/* procstat.c - see procstat.h. */
#include "procstat.h"

#include "fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned long long proc_starttime(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *s = fs_read_all(path, 8192, NULL);
	if (!s)
		return 0;
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(s, ')');
	unsigned long long start = 0;
	if (p) {
		p += 2;
		/* starttime is field 22; after ')' we are at field 3. */
		for (int field = 3; field < 22 && p; field++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (p)
			start = strtoull(p, NULL, 10);
	}
	free(s);
	return start;
}

int proc_is(pid_t pid, unsigned long long start)
{
	return pid > 1 && start && proc_starttime(pid) == start;
}
