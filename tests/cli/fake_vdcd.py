#!/usr/bin/env python3
"""fake_vdcd.py PORTFILE [--port N] [--tls CHAIN KEY CA] - a stand-in for
vdcd's REST API, just enough to drive the vdc CLI end to end: bearer auth,
pages, filters, errors in vdcd's shape, tasks that advance one step per poll,
and (fake_auth.py) users, projects, quotas and tokens. With --tls it serves
https with CHAIN (server certificate, then CA) and shows CA at /api/v1/ca.
Writes its port to PORTFILE. State lives in memory; the admin's token is
"secret"."""
import argparse
import json
import re
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import fake_auth
from fake_auth import ApiError

LOCK = threading.Lock()
NOW = "2024-01-01T00:00:00Z"
KINDS = {"clusters": "cluster", "datastores": "datastore", "networks": "network",
         "templates": "template", "hosts": "host", "vms": "vm", "tasks": "task"}
REQUIRED = {"datastores": ["path"], "networks": ["bridge"], "templates": ["image"]}
FILTERS = {"hosts": ["cluster_id", "state"],
           "vms": ["host_id", "cluster_id", "power_state", "template_id", "project_id"],
           "tasks": ["state", "target_id", "op"]}
DB = {k: {} for k in KINDS}
EVENTS = []
SEQ = [0]       # creation order (tasks are listed by it)
CONSOLES = {}   # vm id -> what its console printed so far
BMC_SECRETS = {}  # host id -> its BMC password (write-only: no GET shows it)


def doc(kind, name, **fields):
    SEQ[0] += 1
    d = {"id": str(uuid.uuid4()), "name": name, "version": 1, "created_at": NOW, "updated_at": NOW,
         "seq": SEQ[0]}
    d.update(fields)
    DB[kind][d["id"]] = d
    return d


def find(kind, key):
    for d in DB[kind].values():
        if d["id"] == key or d["name"] == key:
            return d
    raise ApiError(404, "not_found", "no %s has the id or name '%s'" % (KINDS[kind], key))


def event(action, kind, target, outcome, detail=""):
    EVENTS.append({"id": len(EVENTS) + 1, "at": NOW, "actor": "admin", "action": action,
                   "target_kind": kind, "target_id": target, "outcome": outcome, "detail": detail})


def task(op, vm, fail=None, steps=None, kind="vm", fail_code="agent_error", args=None):
    steps = steps or ["preparing", "creating disks on the host", "starting QEMU"]
    t = doc("tasks", None, op=op, target_kind=kind, target_id=vm["id"], state="queued",
            progress=0, message="queued", steps=steps, fail=fail, fail_code=fail_code, args=args or {})
    t["name"] = t["id"]
    return t


def advance(t):
    """One step per poll: queued, each step, then the end."""
    if t["state"] in ("succeeded", "failed"):
        return
    n = len(t["steps"])
    i = t.get("step", -1) + 1
    t["step"] = i
    if i < n:
        t.update(state="running", progress=i * 100 // n, message=t["steps"][i])
    elif t["fail"]:
        t.update(state="failed", message=t["fail"], error={"code": t["fail_code"], "message": t["fail"]})
    else:
        t.update(state="succeeded", progress=100, message="done")
        host = DB["hosts"].get(t["target_id"])
        if t["op"] == "host.power" and host:
            # As vdcd: the state the BMC reports after the order, on the host.
            p, action = host["power"], t["args"]["action"]
            p["state"] = {"on": "on", "off": "off", "cycle": "on"}.get(action, p["state"] if p["state"] != "unknown" else "on")
            p["checked_at"] = NOW
            bmc = "BMC %s:%d" % (p["address"], p["port"])
            t["result"] = {"action": action, "state": p["state"], "elapsed_ms": 30,
                           "message": "%s: power is %s" % (bmc, p["state"]) if action == "status" else
                           "%s took power %s; power is %s now" % (bmc, action, p["state"])}
        vm = DB["vms"].get(t["target_id"])
        if vm:
            after = {"vm.create": "running", "vm.start": "running", "vm.stop": "stopped",
                     "vm.destroy": "stopped", "vm.pause": "paused", "vm.resume": "running"}
            if t["op"] == "vm.stop" and vm["name"].startswith("deaf"):
                # A guest that ignores the power button: powered off.
                t["result"] = {"vm_id": vm["id"], "power_state": "stopped", "forced": True,
                               "reason": "the guest did not shut down within 5 s"}
            if t["op"] == "vm.delete":
                del DB["vms"][vm["id"]]
            elif t["op"] in after:
                vm["power_state"] = after[t["op"]]


def public(d):
    return {k: v for k, v in d.items() if k not in ("steps", "fail", "fail_code", "step", "seq")}


def page(kind, q):
    limit = int(q.get("limit", ["100"])[0])
    if not 1 <= limit <= 1000:
        raise ApiError(400, "invalid_query", "limit must be a number from 1 to 1000", "limit")
    order = q.get("order", ["asc"])[0]
    if order not in ("asc", "desc"):
        raise ApiError(400, "invalid_query", "order must be asc or desc, not '%s'" % order, "order")
    if kind != "tasks" and order == "desc":
        raise ApiError(400, "invalid_query", "%s are listed by name, A to Z; order=desc is for tasks" % kind,
                       "order")
    # Tasks by time (as vdcd: created_at, then id), the rest by name.
    items = sorted(DB[kind].values(), key=lambda d: d["seq"] if kind == "tasks" else d["name"],
                   reverse=order == "desc")
    if kind == "vms" and "project" in q:
        # vdcd: an unknown project lists nothing (the CLI resolves names first)
        items = [d for d in items if d.get("project_id") == q["project"][0]]
    for f in FILTERS.get(kind, []):
        if f in q:
            items = [d for d in items if d.get(f) == q[f][0]]
    if "after" in q and kind == "tasks":
        ids = [d["id"] for d in items]
        if q["after"][0] not in ids:
            raise ApiError(400, "invalid_argument", "no task '%s' to continue after" % q["after"][0], "after")
        items = items[ids.index(q["after"][0]) + 1:]
    elif "after" in q:
        items = [d for d in items if d["name"] > q["after"][0]]
    more = len(items) > limit
    items = items[:limit]
    return {"items": [public(d) for d in items], "next": items[-1]["name"] if more else None}


def usage(project_id):
    vms = [v for v in DB["vms"].values() if v.get("project_id") == project_id]
    return {"vms": len(vms), "vcpus": sum(v["config"]["vcpus"] for v in vms),
            "memory_mib": sum(v["config"]["memory_mib"] for v in vms), "disk_mib": 0}


def check_quota(project, vcpus, mem):
    use = usage(project["id"])
    for key, add in (("vms", 1), ("vcpus", vcpus), ("memory_mib", mem)):
        limit = project["quota"][key]
        if limit is not None and use[key] + add > limit:
            # Word for word what vdcd writes (src/manager/quota.c), which
            # t_tenants.sh checks against the real vdcd.
            raise ApiError(409, "quota_exceeded", "project '%s': the %s quota is %d and %d in use; this "
                           "request would bring it to %d (ask an administrator to raise it, or free some)"
                           % (project["name"], key, limit, use[key], use[key] + add), key,
                           {"limit": limit, "would_be": use[key] + add})


def vm_create(body, me):
    for key in ("name", "template"):
        if key not in body:
            raise ApiError(400, "invalid_request", "%s: is required" % key, key)
    project = None
    if "project" in body:
        try:
            project = fake_auth.find_project(body["project"], me)
        except ApiError:
            raise ApiError(400, "invalid_request", "project: no project named '%s'" % body["project"], "project")
    if any(d["name"] == body["name"] for d in DB["vms"].values()):
        raise ApiError(409, "name_taken", "a vm named '%s' already exists" % body["name"], "name")
    try:
        tmpl = find("templates", body["template"])
    except ApiError:
        raise ApiError(400, "invalid_request", "template: no template named '%s'" % body["template"], "template")
    for i, n in enumerate(body.get("networks", [])):
        if not any(d["name"] == n for d in DB["networks"].values()):
            raise ApiError(400, "invalid_request", "networks[%d]: no network named '%s'" % (i, n), "networks[%d]" % i)
    mem = body.get("memory_mib", tmpl.get("memory_mib", 512))
    vcpus = body.get("vcpus", tmpl.get("vcpus", 1))
    if project:
        check_quota(project, vcpus, mem)
    hosts = sorted(DB["hosts"].values(), key=lambda d: d["name"])
    verdicts = [{"host": h["name"], "eligible": mem <= h["capacity"]["memory_mib"],
                 "filter": "ok" if mem <= h["capacity"]["memory_mib"] else "memory",
                 "reason": "%d MiB free, %d needed" % (h["capacity"]["memory_mib"], mem)} for h in hosts]
    ok = [v for v in verdicts if v["eligible"]]
    if not ok:
        summary = "no host fits: 0 of %d hosts eligible" % len(hosts)
        raise ApiError(409, "no_host", summary, None,
                       {"placement": {"host": None, "summary": summary, "hosts": verdicts}})
    for r, v in enumerate(ok):
        v.update(rank=r + 1, score=1.0 - r / 10)
    host = find("hosts", ok[0]["host"])
    summary = "chosen %s (rank 1 of %d, score 1.000); %d of %d hosts eligible" % (
        host["name"], len(ok), len(ok), len(hosts))
    vm = doc("vms", body["name"], host_id=host["id"], cluster_id=host["cluster_id"],
             template_id=tmpl["id"], power_state="creating", project_id=project and project["id"],
             config={"vcpus": vcpus, "memory_mib": mem,
                     "disk_size_mib": 0, "datastore": "local", "networks": [],
                     "template": {"id": tmpl["id"], "name": tmpl["name"], "image": tmpl["image"]}},
             placement={"host": host["name"], "summary": summary})
    t = task("vm.create", vm, fail="qemu-img: no space" if body["name"].startswith("fail") else None)
    event("vm.create", "vm", vm["id"], "accepted", summary)
    return 202, {"vm": public(vm), "task": public(t),
                 "placement": {"host": host["name"], "summary": summary, "hosts": verdicts}}


def power_driver(method, host, body):
    """PUT/DELETE /hosts/{id}/power-driver, with vdcd's checks and messages."""
    if method == "DELETE":
        host.pop("power", None)
        BMC_SECRETS.pop(host["id"], None)
        return 200, public(host)
    if method != "PUT":
        raise ApiError(405, "method_not_allowed", "no %s here" % method)
    for key in ("driver", "address", "username"):
        if key not in body:
            raise ApiError(400, "invalid_request", "%s: is required" % key, key)
    if body["driver"] != "ipmi":
        raise ApiError(400, "invalid_request", "driver: '%s' is not a power driver vdcd has; it has: ipmi"
                       % body["driver"], "driver")
    if body["address"].startswith("-"):
        raise ApiError(400, "invalid_request", "address: '%s' starts with '-': give the BMC's IP address or "
                       "host name" % body["address"], "address")
    port = body.get("port", 623)
    if not 1 <= port <= 65535:
        raise ApiError(400, "invalid_request", "port: is %d; it must be between 1 and 65535" % port, "port")
    if "password" in body:
        BMC_SECRETS[host["id"]] = body["password"]
    elif host["id"] not in BMC_SECRETS:
        raise ApiError(400, "invalid_request", "password: is required (the host has no BMC password stored yet)",
                       "password")
    host["power"] = {"driver": "ipmi", "address": body["address"], "port": port, "username": body["username"],
                     "cipher_suite": body.get("cipher_suite", 3), "timeout_s": body.get("timeout_s", 10),
                     "state": "unknown"}
    return 200, public(host)


def host_power(host, body):
    action = body.get("action")
    if action not in ("on", "off", "cycle", "status"):
        raise ApiError(400, "invalid_request", "action: '%s' is not a power action; give on, off, cycle or status"
                       % action, "action")
    if "power" not in host:
        raise ApiError(409, "no_power_driver", "host %s has no power driver; set one first" % host["name"])
    running = [v["name"] for v in DB["vms"].values()
               if v.get("host_id") == host["id"] and v.get("power_state") in ("running", "paused")]
    if action in ("off", "cycle") and running and not body.get("force"):
        raise ApiError(409, "host_has_vms", "host %s still runs %d VMs (%s): power %s stops them at once; give "
                       "\"force\": true to do it anyway (vdc host power %s %s --force)"
                       % (host["name"], len(running), ", ".join(running), action, host["name"], action), "force")
    p = host["power"]
    wrong = BMC_SECRETS.get(host["id"]) == "wrong"
    t = task("host.power", host, steps=["asking ipmi %s:%d for power %s" % (p["address"], p["port"], action)],
             kind="host", args={"action": action, "force": bool(body.get("force"))},
             fail="BMC %s:%d refused the login of user '%s': wrong password" % (p["address"], p["port"], p["username"])
             if wrong else None, fail_code="bmc_auth_failed")
    event("host.power_" + action, "host", host["id"], "accepted")
    return 202, {"task": public(t), "host": public(host)}


def route(method, path, q, body, who):
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] != ["api", "v1"] or len(parts) < 3:
        raise ApiError(404, "not_found", "no route %s %s" % (method, path))
    out = fake_auth.route(method, parts[2:], q, body, who, usage)
    if out:
        return out
    coll, rest = parts[2], parts[3:]
    if coll == "events" and method == "GET" and not rest:
        limit = int(q.get("limit", ["100"])[0])
        asc = q.get("order", ["desc"])[0] == "asc"
        items = sorted(EVENTS, key=lambda e: e["id"] if asc else -e["id"])
        if "after" in q and not asc:
            raise ApiError(400, "invalid_query", "after=ID goes with order=asc", "after")
        if "before" in q:
            items = [e for e in items if e["id"] < int(q["before"][0])]
        if "after" in q:
            items = [e for e in items if e["id"] > int(q["after"][0])]
        more = len(items) > limit
        items = items[:limit]
        return 200, {"items": items, "next": str(items[-1]["id"]) if more else None}
    if coll == "hosts" and rest == ["join-tokens"] and method == "POST":
        c = find("clusters", body.get("cluster", ""))
        return 201, {"token": "vdcj_0123", "cluster_id": c["id"], "expires_at": "2023-11-14T23:13:20Z"}
    if coll not in KINDS:
        raise ApiError(404, "not_found", "no route %s %s" % (method, path))
    if not rest:
        if method == "GET":
            return 200, page(coll, q)
        if method == "POST" and coll == "vms":
            return vm_create(body, who[0])
        if method == "POST" and coll in ("clusters", "datastores", "networks", "templates"):
            if "name" not in body:
                raise ApiError(400, "invalid_request", "name: is required", "name")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", body["name"]):
                raise ApiError(400, "invalid_request", "name: '%s' is not a valid name" % body["name"], "name")
            for f in REQUIRED.get(coll, []):
                if f not in body:
                    raise ApiError(400, "invalid_request", "%s: is required" % f, f)
            if coll == "networks" and not 0 <= body.get("vlan", 0) <= 4094:
                raise ApiError(400, "invalid_request", "vlan: is %d; it must be between 0 and 4094"
                               % body["vlan"], "vlan")
            if any(d["name"] == body["name"] for d in DB[coll].values()):
                raise ApiError(409, "name_taken", "a %s named '%s' already exists" % (KINDS[coll], body["name"]), "name")
            fields = dict(body)
            name = fields.pop("name")
            d = doc(coll, name, **fields)
            event("create", KINDS[coll], d["id"], "succeeded", name)
            return 201, public(d)
        raise ApiError(405, "method_not_allowed", "no %s here" % method)
    d = find(coll, rest[0])
    if coll == "tasks" and method == "GET":
        advance(d)
        return 200, public(d)
    if len(rest) == 1 and method == "GET":
        return 200, public(d)
    if len(rest) == 1 and method == "DELETE":
        if coll == "vms":
            if d["power_state"] in ("running", "paused") and q.get("force") != ["true"]:
                raise ApiError(409, "invalid_state", "VM '%s' is %s; stop it first or use --force / ?force=true"
                               % (d["name"], d["power_state"]))
            d["power_state"] = "deleting"
            return 202, {"task": public(task("vm.delete", d, steps=["removing the disk"]))}
        del DB[coll][d["id"]]
        return 204, None
    if coll == "clusters" and rest[1:] == ["ha"] and method == "GET":
        hosts = [h for h in DB["hosts"].values() if h.get("cluster_id") == d["id"]]
        return 200, {"cluster_id": d["id"], "enabled": True, "admission": "host_failures",
                     "failover_capacity": {"summary": "1 host failure (%d hosts)" % len(hosts)},
                     "hosts": [{"name": h["name"], "state": h["state"],
                                "ha": {"state": "connected", "reason": "its agent answers"}} for h in hosts]}
    if coll == "clusters" and rest[1:] == ["ha", "incidents"] and method == "GET":
        h = q.get("host", [None])[0]
        items = [{"id": "event-1", "kind": "host", "state": "closed", "opened_at": "2026-12-07T18:31:05.000Z",
                  "host": {"id": h, "name": "host-1"}, "summary": {"vms_placed": 1, "vms_started": 1,
                  "vms_failed": 0, "vms_refused": 0, "to_fenced_s": 4.5, "to_all_started_s": 6.25},
                  "steps": [{"at": "2026-12-07T18:31:05.000Z", "phase": "detected", "detail": "silent"},
                            {"at": "2026-12-07T18:31:11.250Z", "phase": "started", "vm": {"name": "web"},
                             "detail": "runs on host-2 (limit %s)" % q.get("limit", ["?"])[0]}]}] if h else []
        return 200, {"cluster_id": d["id"], "cluster": d["name"], "items": items}
    if coll == "hosts" and rest[1:] == ["maintenance"]:
        d["maintenance"] = body["enabled"]
        d["state"] = "maintenance" if body["enabled"] else "connected"
        return 200, public(d)
    if coll == "hosts" and rest[1:] == ["power-driver"]:
        return power_driver(method, d, body)
    if coll == "hosts" and rest[1:] == ["power"] and method == "POST":
        return host_power(d, body)
    if coll == "vms" and rest[1:] == ["console"] and method == "GET":
        # As the agent: the last ?bytes, or with ?offset= what came since;
        # X-Console-Offset says where the bytes start. Each read with an
        # offset makes the guest print one more line.
        con = CONSOLES.setdefault(d["id"], ("Debian GNU/Linux 12 %s ttyS0\n\n%s login: " % (d["name"], d["name"])))
        n = int(q.get("bytes", ["16384"])[0])
        if "offset" in q:
            con += "tick %d\n" % (con.count("tick ") + 1)
            CONSOLES[d["id"]] = con
            start = int(q["offset"][0])
            start = 0 if start > len(con) else start
        else:
            start = max(0, len(con) - n)
        return 200, con[start:start + n], {"X-Console-Offset": str(start)}
    if coll == "vms" and len(rest) == 2 and method == "POST":
        if d["power_state"] in ("creating", "deleting"):
            raise ApiError(409, "busy", "VM '%s' is %s; wait for its task to finish" % (d["name"], d["power_state"]))
        op = "snapshot" if rest[1] == "snapshots" else rest[1]
        if op not in ("start", "stop", "reset", "pause", "resume", "destroy", "snapshot"):
            raise ApiError(404, "not_found", "no route")
        if op == "stop" and not 0 <= body.get("timeout_s", 60) <= 3600:
            raise ApiError(400, "invalid_request", "timeout_s: must be 0..3600", "timeout_s")
        t = task("vm." + op, d, steps=["asking the agent"],
                 fail="the guest did not answer" if d["name"].startswith("stuck") else None)
        return 202, {"task": public(t)}
    raise ApiError(404, "not_found", "no route %s %s" % (method, path))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self, method):
        u = urlparse(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as e:
                raise ApiError(400, "invalid_json", "the body is not JSON: %s" % e)
            with LOCK:
                parts = [unquote(p) for p in u.path.strip("/").split("/")]
                out = fake_auth.public_route(method, parts[2:], body) if parts[:2] == ["api", "v1"] else None
                hdrs = []
                if out:
                    status, out = out
                else:
                    who = fake_auth.caller(self.headers.get("Authorization"))
                    if not who:
                        raise ApiError(401, "unauthorized", "missing or unknown bearer token")
                    status, out, *hdrs = route(method, u.path, parse_qs(u.query), body, who)
        except ApiError as e:
            hdrs = []
            err = {"code": e.code, "message": e.message}
            if e.field:
                err["field"] = e.field
            err.update(e.extra or {})
            status, out = e.status, {"error": err}
        if out is None:
            data, ctype = b"", "text/plain"
        elif isinstance(out, str):
            data, ctype = out.encode(), "text/plain; charset=utf-8"
        else:
            data, ctype = (json.dumps(out) + "\n").encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (hdrs[0] if hdrs else {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PUT(self):
        self.handle_any("PUT")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("portfile")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=3, metavar=("CHAIN", "KEY", "CA"))
    args = ap.parse_args()
    fake_auth.seed()
    prod = doc("clusters", "prod", policy="pack", cpu_overcommit=4.0, mem_overcommit=1.0)
    for i in range(1, 4):
        doc("hosts", "host-%d" % i, cluster_id=prod["id"], state="connected", maintenance=False,
            last_heartbeat=NOW, capacity={"cpus": 8, "memory_mib": 4096 * i}, vms_reported=0)
    for i in range(1, 8):
        event("test.seed", "cluster", prod["id"], "succeeded", "event %d" % i)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        fake_auth.set_ca(args.tls[2])
    with open(args.portfile, "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
