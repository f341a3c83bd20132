/* qmp_events.h - the QMP events the agent acts on, by kind. */
#ifndef VDC_QMP_EVENTS_H
#define VDC_QMP_EVENTS_H

enum qmp_event_kind {
	QMP_EV_OTHER,         /* logged, nothing else */
	QMP_EV_SHUTDOWN,      /* QEMU is going down; data.reason says why */
	QMP_EV_STOP,          /* the guest's vCPUs stopped (paused) */
	QMP_EV_RESUME,        /* they run again */
	QMP_EV_GUEST_PANICKED,
	QMP_EV_MIGRATION,     /* a migration's status changed; data.status */
	QMP_EV_WATCHDOG,      /* the guest's watchdog fired; data.action is QEMU's (none) */
	QMP_EV_DEVICE_DELETED, /* the guest released a device (data.device: its id) */
};

enum qmp_event_kind qmp_event_kind(const char *name);

#endif
