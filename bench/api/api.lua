-- api.lua - wrk script for bench/api: each request asks for a random one of
-- the seeded VMs ("get": GET /api/v1/vms/ID) or a page of 100 starting after
-- a random VM ("list": GET /api/v1/vms?limit=100&after=NAME, always full).
-- Arguments after "--": get|list FILE, FILE holding "ID NAME" lines in name
-- order (api-seed's output).
local keys = {}
local mode
local next_seed = 0

-- Runs once per thread in wrk's main state: gives each thread its own seed.
function setup(thread)
	next_seed = next_seed + 1
	thread:set("seed", 7919 * next_seed)
end

function init(args)
	mode = args[1]
	local ids, names = {}, {}
	for line in io.lines(args[2]) do
		local id, name = line:match("^(%S+) (%S+)$")
		if id then
			ids[#ids + 1] = id
			names[#names + 1] = name
		end
	end
	if mode == "get" then
		for i, id in ipairs(ids) do keys[i] = "/api/v1/vms/" .. id end
	elseif mode == "list" then
		-- "after" the last 100 names would give a short page: leave them out.
		for i = 1, #names - 100 do keys[i] = "/api/v1/vms?limit=100&after=" .. names[i] end
	else
		error("api.lua: mode must be get or list, not " .. tostring(mode))
	end
	if #keys == 0 then error("api.lua: no VMs in " .. tostring(args[2])) end
	math.randomseed(seed or 1) -- "seed": a global set by setup()
end

function request()
	return wrk.format("GET", keys[math.random(#keys)])
end
