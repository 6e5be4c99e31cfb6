-- Workloads (a) and (b), and the 1 000 000-card preload: Eximpe save card, POST /pg/tokens/.
-- Saving the same card twice for one identifier is a 409, so every request carries a fresh
-- identifier: <run tag>-<thread>-<counter>. The run tag (first script argument) keeps runs
-- against one server instance apart.
--
-- Arguments (after `--`): TAG MODE [TENANTS] [QUOTA]
--   MODE valid   : a complete, valid v1 body (expect 200)
--   MODE invalid : a body with a bad card number and no cardholder name (expect 400)
--   TENANTS      : spread requests over this many X-Client-ID values (default 1)
--   QUOTA        : stop the thread after this many answers (preload; default: run for -d)
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local tag, mode, tenants, quota = "run", "valid", 1, nil
local counter, answered = 0, 0

function init(args)
  tag = args[1] or tag
  mode = args[2] or mode
  tenants = tonumber(args[3] or "1")
  quota = args[4] and tonumber(args[4]) or nil
end

local valid_fmt = '{"identifier":"%s","card_number":"5506900480000008",' ..
  '"cardholder_name":"Priya Sharma","expiry_month":5,"expiry_year":2030,' ..
  '"network":"mastercard","card_type":"credit_card","nickname":"HDFC Regalia Credit Card"}'
local invalid_fmt = '{"identifier":"%s","card_number":"55069004800000x8",' ..
  '"expiry_month":13,"expiry_year":2030,"network":"mastercard","card_type":"credit_card"}'

function request()
  counter = counter + 1
  local ident = string.format("%s-%d-%d", tag, tid, counter)
  local body = string.format(mode == "invalid" and invalid_fmt or valid_fmt, ident)
  local client = "bench-client"
  if tenants > 1 then
    client = "bench-tenant-" .. ((counter * 2 + tid) % tenants)
  end
  return wrk.format("POST", "/pg/tokens/", {
    ["Content-Type"] = "application/json",
    ["X-Client-ID"] = client,
    ["X-Client-Secret"] = "bench-secret",
    ["X-API-Version"] = "1.0.0",
  }, body)
end

if os.getenv("BENCH_QUOTA_MODE") then
  -- Only the preload defines response(): wrk then hands every answer to Lua, which costs
  -- load-generator CPU the measured runs should not pay.
  function response(status, headers, body)
    answered = answered + 1
    if quota and answered >= quota then
      wrk.thread:stop()
    end
  end
end
