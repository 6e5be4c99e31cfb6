-- Soak workload: steady load whose stored data does not grow, so memory must stay flat.
-- Each thread saves an Eximpe card for a fresh identifier, then deletes it with the token the
-- save answered (the journal and idempotency machinery see every request); every tenth
-- request is an invalid save (the 400 path) and every tenth a list for an identifier that has
-- no cards (the 404 path). Answers are told apart by their bodies; anything else counts as
-- unexpected.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local counter = 0
local pending = {}      -- tokens saved and not yet deleted
saved, deleted, refused, listed, unexpected = 0, 0, 0, 0, 0

local headers = {
  ["Content-Type"] = "application/json",
  ["X-Client-ID"] = "soak-client",
  ["X-Client-Secret"] = "soak-secret",
  ["X-API-Version"] = "1.0.0",
}
-- One identifier per thread; each save is a different (Luhn-valid) Visa number, so no save
-- is a duplicate of a card still held.
local save_fmt = '{"identifier":"SOAK_%d","card_number":"%s",' ..
  '"cardholder_name":"Soak Test","expiry_month":12,"expiry_year":2030,' ..
  '"network":"visa","card_type":"credit_card","nickname":"soak"}'


function request()
  counter = counter + 1
  if counter % 10 == 0 then
    return wrk.format("POST", "/pg/tokens/", headers, '{"identifier":"SOAK","card_number":"12"}')
  end
  if counter % 10 == 5 then
    return wrk.format("GET", "/pg/tokens/?identifier=SOAK_NOBODY", headers)
  end
  if #pending > 0 then
    local token = table.remove(pending, 1)
    return wrk.format("POST", "/pg/tokens/delete/", headers,
      string.format('{"card_token":"%s","identifier":"SOAK_%d"}', token, tid))
  end
  local pan = luhn_complete(string.format("411111%09d", counter % 1000000000))
  return wrk.format("POST", "/pg/tokens/", headers, string.format(save_fmt, tid, pan))
end

function response(status, headers, body)
  if status == 200 and body:find("Card details saved successfully", 1, true) then
    saved = saved + 1
    local token = body:match('"card_token":"([^"]+)"')
    if token then table.insert(pending, token) end
  elseif status == 200 and body:find("Card details deleted successfully", 1, true) then
    deleted = deleted + 1
  elseif status == 400 and body:find("validation_error", 1, true) then
    refused = refused + 1
  elseif status == 404 and body:find("ERR_TOKEN_001", 1, true) then
    listed = listed + 1
  else
    unexpected = unexpected + 1
  end
end

extra_report = function()
  return string.format(',"saved":%d,"deleted":%d,"refused":%d,"listed":%d,"unexpected":%d',
    sum_threads("saved"), sum_threads("deleted"), sum_threads("refused"),
    sum_threads("listed"), sum_threads("unexpected"))
end
