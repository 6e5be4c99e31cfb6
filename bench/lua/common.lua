-- Shared by every workload: numbers each wrk thread, and reports one machine-readable line
-- ("BENCH {...}") that bench.py parses. wrk gives each thread its own Lua state, so anything
-- counted in a thread is read back in done() through thread:get().
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Sum a numeric global over all threads (nil counts as 0).
function sum_threads(name)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get(name) or 0)
  end
  return total
end

-- The first thread's non-nil value of a global, or nil.
function first_of_threads(name)
  for _, t in ipairs(threads) do
    local value = t:get(name)
    if value ~= nil then
      return value
    end
  end
  return nil
end

-- Text as the inside of a JSON string.
function json_escape(text)
  return (text:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end))
end

-- Extra fields a workload may add to the report, as "key":value JSON fragments.
extra_report = function() return "" end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect, e.read, e.write, e.timeout, extra_report()))
end

-- A card number: `prefix` completed with its Luhn check digit.
function luhn_complete(prefix)
  local sum, double = 0, true
  for i = #prefix, 1, -1 do
    local d = tonumber(prefix:sub(i, i))
    if double then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
    double = not double
  end
  return prefix .. tostring((10 - sum % 10) % 10)
end
