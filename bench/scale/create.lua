-- create.lua - wrk script for bench/scale: every request creates a VM from a
-- seeded template (POST /api/v1/vms, start false) under a name no other
-- request uses. Argument after "--": a prefix that is new for each run.
local threads = 0

-- Runs once per thread in wrk's main state: numbers the threads.
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end

local prefix, n = "s", 0

function init(args)
	prefix = args[1] or "s"
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	n = n + 1
	local body = string.format('{"name":"%s-%d-%d","template":"alpine-3.20","start":false}',
		prefix, tid or 0, n) -- "tid": a global set by setup()
	return wrk.format("POST", "/api/v1/vms", nil, body)
end
