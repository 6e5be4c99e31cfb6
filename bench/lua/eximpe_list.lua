-- Workload (d): Eximpe list saved cards for one identifier that holds 50 cards
-- (bench.py saves them first). GET /pg/tokens/?identifier=<IDENT>.
-- Arguments: IDENT
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local req
function init(args)
  local ident = args[1] or "BENCH_LIST_50"
  req = wrk.format("GET", "/pg/tokens/?identifier=" .. ident, {
    ["X-Client-ID"] = "bench-list-client",
    ["X-Client-Secret"] = "bench-secret",
    ["X-API-Version"] = "1.0.0",
  })
end

function request()
  return req
end
