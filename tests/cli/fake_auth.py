"""fake_auth.py - the tenancy half of fake_vdcd.py: login, whoami, users,
projects and their members, quotas and API tokens, in vdcd's shapes, and the
error type both halves raise. Users: admin (its token is "secret") and alice
(password "wonderland", operator of project dev)."""
import hashlib
import secrets
import ssl
import time
import uuid

NOW = "2024-01-01T00:00:00Z"
ROLES = ("admin", "operator", "viewer")
QUOTA_KEYS = ("vms", "vcpus", "memory_mib", "disk_mib")
USERS = {}     # name -> {id, name, admin, created_at, password}
TOKENS = {}    # secret -> {id, name, user_id, user, expires_epoch, created_at}
PROJECTS = {}  # id -> {id, name, description, quota, created_at}
MEMBERS = {}   # (project id, user name) -> role
FAILS = {}     # user name -> failed logins in a row
CA = {}        # the CA served at /api/v1/ca, when serving https


class ApiError(Exception):
    def __init__(self, status, code, message, field=None, extra=None):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.extra = status, code, message, field, extra


def add_user(name, password=None, admin=False):
    u = {"id": str(uuid.uuid4()), "name": name, "admin": admin, "created_at": NOW, "password": password}
    USERS[name] = u
    return u


def iso(epoch):
    """Epoch seconds as vdcd writes every time: RFC 3339 UTC; None for 0 (never)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) if epoch else None


def add_token(user, name, ttl_s=None, secret=None):
    secret = secret or "vdct_" + secrets.token_hex(16)
    t = {"id": str(uuid.uuid4()), "name": name, "user_id": user["id"], "user": user["name"],
         "expires_epoch": int(time.time()) + ttl_s if ttl_s else 0, "created_at": NOW}
    TOKENS[secret] = t
    return secret, t


def token_view(t):
    v = {k: x for k, x in t.items() if k != "expires_epoch"}
    v["expires_at"] = iso(t["expires_epoch"])
    return v


def add_project(name, description="", quota=None):
    p = {"id": str(uuid.uuid4()), "name": name, "description": description,
         "quota": {k: (quota or {}).get(k) for k in QUOTA_KEYS}, "created_at": NOW}
    PROJECTS[p["id"]] = p
    return p


def seed():
    admin = add_user("admin", "adminpw", True)
    add_token(admin, "bootstrap", secret="secret")
    alice = add_user("alice", "wonderland")
    dev = add_project("dev", "the developers' VMs", {"vms": 10, "vcpus": 8})
    MEMBERS[(dev["id"], alice["name"])] = "operator"


def set_ca(ca_pem_path):
    pem = open(ca_pem_path).read()
    CA["pem"] = pem
    CA["fingerprint"] = "sha256:" + hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def caller(auth_header):
    """The user a bearer token names, or None."""
    if not auth_header or not auth_header.startswith("Bearer "):
        return None
    t = TOKENS.get(auth_header[7:])
    if not t:
        return None
    if t["expires_epoch"] and t["expires_epoch"] < time.time():
        raise ApiError(401, "token_expired", "the token expired at %s; sign in again with 'vdc login'"
                       % iso(t["expires_epoch"]))
    return next((u for u in USERS.values() if u["id"] == t["user_id"]), None), t


def find_user(key):
    for u in USERS.values():
        if key in (u["id"], u["name"]):
            return u
    raise ApiError(404, "not_found", "no user has the id or name '%s'" % key)


def find_project(key, me=None):
    for p in PROJECTS.values():
        if key in (p["id"], p["name"]) and (me is None or me["admin"] or (p["id"], me["name"]) in MEMBERS):
            return p
    raise ApiError(404, "not_found", "no project has the id or name '%s'" % key)


def public_user(u):
    return {k: v for k, v in u.items() if k != "password"}


def public_project(p, usage):
    return dict(p, usage=usage(p["id"]))


def need_admin(me):
    if not me["admin"]:
        raise ApiError(403, "forbidden", "only a system admin may do this")


def page(items, q, key="name"):
    limit = int(q.get("limit", ["100"])[0])
    items = sorted(items, key=lambda d: d[key])
    if "after" in q:
        items = [d for d in items if d[key] > q["after"][0]]
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next": items[-1][key] if more else None}


def public_route(method, parts, body):
    """The routes that need no token: (status, reply), or None."""
    if method == "GET" and parts == ["ca"]:
        if not CA:
            raise ApiError(404, "not_found", "this vdcd serves plain http")
        return 200, {"ca_certificate": CA["pem"], "fingerprint": CA["fingerprint"]}
    if method == "POST" and parts == ["auth", "login"]:
        name, pw = body.get("user", ""), body.get("password", "")
        if FAILS.get(name, 0) >= 3:
            raise ApiError(429, "too_many_attempts", "too many failed logins for '%s'; try again later" % name)
        u = USERS.get(name)
        if not u or not u["password"] or pw != u["password"]:
            FAILS[name] = FAILS.get(name, 0) + 1
            raise ApiError(401, "invalid_credentials", "unknown user or wrong password")
        FAILS[name] = 0
        secret, t = add_token(u, body.get("token_name", "login"), body.get("ttl_s", 43200))
        return 201, {"token": secret, "id": t["id"], "name": t["name"], "user": u["name"],
                     "expires_at": iso(t["expires_epoch"])}
    return None


def quota_doc(p, usage):
    return {"quota": p["quota"], "usage": usage(p["id"])}


def project_route(method, rest, q, body, me, usage):
    if not rest:
        if method == "GET":
            mine = [p for p in PROJECTS.values() if me["admin"] or (p["id"], me["name"]) in MEMBERS]
            return 200, page([public_project(p, usage) for p in mine], q)
        need_admin(me)
        if not body.get("name"):
            raise ApiError(400, "invalid_request", "name: is required", "name")
        if any(p["name"] == body["name"] for p in PROJECTS.values()):
            raise ApiError(409, "name_taken", "a project named '%s' already exists" % body["name"], "name")
        return 201, public_project(add_project(body["name"], body.get("description", ""), body.get("quota")), usage)
    p = find_project(rest[0], me)
    sub = rest[1:]
    if not sub and method == "GET":
        return 200, public_project(p, usage)
    if not sub and method == "DELETE":
        need_admin(me)
        del PROJECTS[p["id"]]
        return 204, None
    if sub == ["members"] and method == "GET":
        items = [{"user_id": USERS[u]["id"], "user": u, "role": r}
                 for (pid, u), r in MEMBERS.items() if pid == p["id"] and u in USERS]
        return 200, page(items, q, "user")
    if sub == ["members"] and method == "POST":
        need_admin(me)
        u = find_user(body.get("user", ""))
        if body.get("role") not in ROLES:
            raise ApiError(400, "invalid_request", "role: must be admin, operator or viewer", "role")
        existed = (p["id"], u["name"]) in MEMBERS
        MEMBERS[(p["id"], u["name"])] = body["role"]
        return (200 if existed else 201), {"user_id": u["id"], "user": u["name"], "role": body["role"]}
    if len(sub) == 2 and sub[0] == "members" and method == "DELETE":
        need_admin(me)
        if (p["id"], sub[1]) not in MEMBERS:
            raise ApiError(404, "not_found", "user '%s' is not a member of project '%s'" % (sub[1], p["name"]))
        del MEMBERS[(p["id"], sub[1])]
        return 204, None
    if sub == ["quota"] and method == "GET":
        return 200, quota_doc(p, usage)
    if sub == ["quota"] and method == "PUT":
        need_admin(me)
        for k, v in body.items():
            if k not in QUOTA_KEYS:
                raise ApiError(400, "invalid_request", "%s: is not a quota" % k, k)
            if v is not None and (not isinstance(v, int) or v < 0):
                raise ApiError(400, "invalid_request", "%s: must be a whole number or null" % k, k)
            p["quota"][k] = v
        return 200, quota_doc(p, usage)
    raise ApiError(404, "not_found", "no route %s" % method)


def user_route(method, rest, q, body, me):
    if rest[1:] == ["password"] and method == "POST":
        u = find_user(rest[0])
        if u["id"] != me["id"]:
            need_admin(me)
        if len(body.get("password", "")) < 8:
            raise ApiError(400, "invalid_request", "password: must be at least 8 characters", "password")
        u["password"] = body["password"]
        return 204, None
    need_admin(me)
    if not rest and method == "GET":
        return 200, page([public_user(u) for u in USERS.values()], q)
    if not rest and method == "POST":
        name = body.get("name", "")
        if not name:
            raise ApiError(400, "invalid_request", "name: is required", "name")
        if name in USERS:
            raise ApiError(409, "name_taken", "a user named '%s' already exists" % name, "name")
        if "password" in body and len(body["password"]) < 8:
            raise ApiError(400, "invalid_request", "password: must be at least 8 characters", "password")
        return 201, public_user(add_user(name, body.get("password"), bool(body.get("admin"))))
    u = find_user(rest[0])
    if len(rest) == 1 and method == "GET":
        return 200, public_user(u)
    if len(rest) == 1 and method == "DELETE":
        del USERS[u["name"]]
        return 204, None
    raise ApiError(404, "not_found", "no route %s" % method)


def token_route(method, rest, q, body, me):
    if not rest and method == "GET":
        who = q.get("user", [me["name"]])[0]
        if who != me["name"]:
            need_admin(me)
        return 200, page([token_view(t) for t in TOKENS.values() if t["user"] == who], q)
    if not rest and method == "POST":
        if not body.get("name"):
            raise ApiError(400, "invalid_request", "name: is required", "name")
        ttl = body.get("ttl_s")
        if ttl is not None and not 60 <= ttl <= 366 * 86400:
            raise ApiError(400, "invalid_request", "ttl_s: must be from 60 to 31622400", "ttl_s")
        secret, t = add_token(me, body["name"], ttl)
        return 201, {"token": secret, "id": t["id"], "name": t["name"], "expires_at": iso(t["expires_epoch"])}
    if len(rest) == 1 and method == "DELETE":
        # By id, or by name among the caller's own tokens (as vdcd does).
        for secret, t in list(TOKENS.items()):
            if (t["id"] == rest[0] and (t["user_id"] == me["id"] or me["admin"])) or \
                    (t["name"] == rest[0] and t["user_id"] == me["id"]):
                del TOKENS[secret]
                return 204, None
        raise ApiError(404, "not_found", "you have no token with the id or name '%s'" % rest[0])
    if rest == ["expire"] and method == "POST":
        # Test hook (not in vdcd): the caller's token of this name expires now.
        for t in TOKENS.values():
            if t["name"] == body.get("name") and t["user_id"] == me["id"]:
                t["expires_epoch"] = int(time.time()) - 1
                return 200, token_view(t)
        raise ApiError(404, "not_found", "no token '%s'" % body.get("name"))
    raise ApiError(404, "not_found", "no route %s" % method)


def route(method, parts, q, body, who, usage):
    """The tenancy routes under /api/v1 for the caller who (user, token):
    (status, reply), or None when parts name none of them."""
    me, tok = who
    coll, rest = parts[0], parts[1:]
    if coll == "auth" and rest == ["whoami"] and method == "GET":
        projects = [{"project_id": pid, "project": PROJECTS[pid]["name"], "role": r}
                    for (pid, u), r in MEMBERS.items() if u == me["name"] and pid in PROJECTS]
        return 200, {"user": {"id": me["id"], "name": me["name"], "admin": me["admin"]},
                     "projects": projects,
                     "token": {"id": tok["id"], "name": tok["name"], "expires_at": iso(tok["expires_epoch"])}}
    if coll == "projects":
        return project_route(method, rest, q, body, me, usage)
    if coll == "users":
        return user_route(method, rest, q, body, me)
    if coll == "tokens":
        return token_route(method, rest, q, body, me)
    return None
