-- wrk script: GET the URL given to wrk (a project of the bench token); prints one BENCHJSON line.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer mhk_bench"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
