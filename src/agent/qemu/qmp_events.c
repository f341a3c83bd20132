/* qmp_events.c - the one table of QMP events the agent handles. */
#include "qmp_events.h"

#include <string.h>

static const struct {
	const char *name;
	enum qmp_event_kind kind;
} events[] = {
	{"SHUTDOWN", QMP_EV_SHUTDOWN},
	{"STOP", QMP_EV_STOP},
	{"RESUME", QMP_EV_RESUME},
	{"GUEST_PANICKED", QMP_EV_GUEST_PANICKED},
	{"MIGRATION", QMP_EV_MIGRATION},
	{"WATCHDOG", QMP_EV_WATCHDOG},
	{"DEVICE_DELETED", QMP_EV_DEVICE_DELETED},
};

enum qmp_event_kind qmp_event_kind(const char *name)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (!strcmp(events[i].name, name))
			return events[i].kind;
	return QMP_EV_OTHER;
}
