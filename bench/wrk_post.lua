-- wrk script: POST /v1/ai-voice-generator (create) with a JSON body; prints one BENCHJSON line.
-- The URL given to wrk must end in /v1/ai-voice-generator. Keep the body in sync with _common.py POST_BODY.
--
-- `mh-mock serve` runs with its defaults (10,000 credits per account, 2 credits per create of this
-- prompt), and every token is its own account. So the token changes every 2,000 requests of a
-- thread: mhk_bench_<run>_<thread>_<n>, where <run> is the first script argument (wrk ... -- RUN),
-- unique per wrk run. The request string is built once per token, not per request.
wrk.method = "POST"
wrk.body = '{"style":{"prompt":"Hello world","voice_name":"Elon Musk"}}'
wrk.headers["Content-Type"] = "application/json"

local PER_TOKEN = 2000
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local run, sent, cached = "x", 0, nil
init = function(args)
  run = args[1] or "x"
end

request = function()
  if sent % PER_TOKEN == 0 then
    local token = string.format("mhk_bench_%s_%s_%d", run, tostring(id), math.floor(sent / PER_TOKEN))
    cached = wrk.format(nil, nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token})
  end
  sent = sent + 1
  return cached
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
