-- wrk script of bench/audit_update.sh: PATCH one agent per request with a new description,
-- so that every request changes one object (and, with auditing on, writes one entry).
-- Usage: wrk ... -s bench/audit_update.lua http://HOST/api/v1/orgs/bench/agents/ -- RUN ID...
-- RUN is unique per run: a description never repeats one that an earlier run left behind.
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"

local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("thread_number", threads)
end

function init(args)
    run = args[1]
    agent_ids = {}
    for i = 2, #args do
        agent_ids[i - 1] = args[i]
    end
    sent = 0
end

function request()
    sent = sent + 1
    -- Threads start far apart in the list, so that they rarely wait on one agent's row.
    local index = (sent + thread_number * 97) % #agent_ids + 1
    local body = string.format(
        '{"description": "run %s, thread %d, request %d"}', run, thread_number, sent
    )
    return wrk.format(nil, wrk.path .. agent_ids[index] .. "/", nil, body)
end
