-- Workload (c): Mercado Pago save card from a fresh card token, the way an integration does
-- it: POST /v1/card_tokens, then POST /v1/customers/{id}/cards with that token.
--
-- wrk interleaves the connections of a thread, so the chain is kept per thread, not per
-- connection: each token answer queues its id; the next request of any connection saves a
-- queued token, or asks for a new one when none is queued. Customers hold a bounded number of
-- cards (error 129 past the limit), so a fresh customer (unique test_payer email) is created
-- after every CARDS_PER_CUSTOMER saves.
--
-- Arguments: TAG [CARDS_PER_CUSTOMER] (default 20; Mercado Pago's default limit here is 25)
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local tag_num, per_customer = 0, 20
local counter = 0
customer = nil          -- current customer id
-- The request() at which a customer create was last built, or nil. wrk calls request() once
-- more than it sends (it checks the script), so a create that never got an answer is
-- built again after a while instead of waiting forever.
local customer_pending_at = nil
local customer_saves = 0
-- Customer creates built so far: each gets its own email. A create built again while the
-- first is still unanswered must not reuse its email (Mercado Pago answers 101, "the
-- customer already exist", for the second).
local creates = 0
local tokens = {}       -- queued fresh token ids
saved, tokened, customers_made, unexpected = 0, 0, 0, 0

local auth = "Bearer TEST-1234567890-112233-abcdef-448870796"
-- Each token is for a different card: saving a card the customer already holds answers the
-- existing card, which is not the creation path this workload measures.
local token_fmt = '{"card_number":"%s","expiration_month":11,' ..
  '"expiration_year":2030,"security_code":"123","cardholder":{"name":"APRO",' ..
  '"identification":{"type":"CPF","number":"12345678909"}}}'

local json_headers = { ["Content-Type"] = "application/json", ["Authorization"] = auth }

function init(args)
  tag_num = tonumber(args[1]) or 0
  per_customer = tonumber(args[2] or "20")
end

function request()
  counter = counter + 1
  if customer == nil or customer_saves >= per_customer then
    if customer_pending_at == nil or counter - customer_pending_at > 256 then
      customer_pending_at = counter
      creates = creates + 1
      -- Unique per run/thread/create, and within the 10 digits test emails allow.
      local n = (tag_num % 1000) * 10000000 + tid * 1000000 + creates % 1000000
      return wrk.format("POST", "/v1/customers", json_headers,
        string.format('{"email":"test_payer_%d@testuser.com","first_name":"Bench"}', n))
    end
  end
  if customer ~= nil and customer_saves < per_customer and #tokens > 0 then
    local tok = table.remove(tokens)
    customer_saves = customer_saves + 1
    return wrk.format("POST", "/v1/customers/" .. customer .. "/cards", json_headers,
      '{"token":"' .. tok .. '"}')
  end
  local pan = luhn_complete(string.format("503143%09d", counter % 1000000000))
  return wrk.format("POST", "/v1/card_tokens", json_headers, string.format(token_fmt, pan))
end

function response(status, headers, body)
  if status >= 300 then
    unexpected = unexpected + 1
    -- The first one is reported (status and the start of its answer): a run that saw one
    -- must say what it was.
    first_unexpected = first_unexpected or (status .. " " .. body:sub(1, 200))
    -- A failed answer may be the customer create's: let the next request() try again.
    customer_pending_at = nil
    return
  end
  local id = body:match('"id":"([^"]+)"')
  if body:find('"luhn_validation"', 1, true) then
    tokened = tokened + 1
    if id then table.insert(tokens, id) end
  elseif body:find('"customer_id"', 1, true) then
    saved = saved + 1
  elseif body:find('"email"', 1, true) then
    customers_made = customers_made + 1
    customer, customer_pending_at, customer_saves = id, nil, 0
  end
end

extra_report = function()
  local first = ""
  local seen = first_of_threads("first_unexpected")
  if seen then
    first = ',"first_unexpected":"' .. json_escape(seen) .. '"'
  end
  return string.format(',"saved":%d,"tokens":%d,"customers":%d,"unexpected":%d%s',
    sum_threads("saved"), sum_threads("tokened"), sum_threads("customers_made"),
    sum_threads("unexpected"), first)
end
