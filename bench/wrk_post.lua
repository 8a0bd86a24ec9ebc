-- wrk script: POST /v1/ai-voice-generator (create) with a JSON body; prints one BENCHJSON line.
-- The URL given to wrk must end in /v1/ai-voice-generator. Keep the body in sync with run.py POST_BODY.
wrk.method = "POST"
wrk.body = '{"style":{"prompt":"Hello world","voice_name":"Elon Musk"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer mhk_bench"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
