// The choices of HA settings (docs/openapi.yaml, HaPolicy and VmHa),
// shared by the cluster's HA page and the VM's: in the order the forms
// offer them.
export const PRIORITIES = ['high', 'medium', 'low', 'disabled'];
export const RESPONSES = ['leave', 'shutdown', 'poweroff'];
