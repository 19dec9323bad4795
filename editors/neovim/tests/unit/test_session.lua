-- Message routing through the session, with a fake bridge process: what the plugin sends, in which
-- order, and where the bridge's messages go.
local T = require("testing")
local config = require("coco.config")
local session_mod = require("coco.session")

-- A fake spawner: records argv, collects what the plugin writes, lets the test answer.
local function fake_bridge()
  local fake = { spawns = {}, sent = {} }
  function fake.spawner(argv, spec, handlers)
    local proc = { argv = argv, spec = spec, handlers = handlers, stdin_closed = false }
    fake.spawns[#fake.spawns + 1] = proc
    fake.current = proc
    return {
      pid = 4242,
      write = function(data)
        for line in data:gmatch("[^\n]+") do
          fake.sent[#fake.sent + 1] = vim.json.decode(line)
        end
        return true
      end,
      close_stdin = function()
        proc.stdin_closed = true
        handlers.on_exit(0)
      end,
      stop = function()
        handlers.on_exit(143)
      end,
    }
  end
  -- Sends messages from the "bridge", cut into 3-byte chunks, and lets the main loop dispatch them.
  function fake.send(...)
    local data = ""
    for _, msg in ipairs({ ... }) do
      data = data .. vim.json.encode(msg) .. "\n"
    end
    for i = 1, #data, 3 do
      fake.current.handlers.on_stdout(data:sub(i, i + 2))
    end
    fake.settle()
  end
  function fake.settle()
    vim.wait(0) -- runs what vim.schedule queued
    vim.wait(0)
  end
  -- The last message the plugin sent with this method.
  function fake.last(method)
    for i = #fake.sent, 1, -1 do
      if fake.sent[i].method == method then
        return fake.sent[i]
      end
    end
  end
  function fake.methods()
    local out = {}
    for _, m in ipairs(fake.sent) do
      out[#out + 1] = m.method or ("response " .. tostring(m.id))
    end
    return out
  end
  return fake
end

local function new_session(fake)
  local c = config.build({ cmd = { "/opt/coco", "bridge", "--codex", "/opt/codex" }, task_root = "/tasks" })
  local s = session_mod.new(c, { spawner = fake.spawner, cwd = function()
    return "/project"
  end })
  local seen = {}
  s:subscribe(function(method, params)
    seen[#seen + 1] = { method = method, params = params }
  end)
  return s, seen
end

local function methods(seen)
  local out = {}
  for _, e in ipairs(seen) do
    out[#out + 1] = e.method
  end
  return out
end

-- Runs the handshake and the first turn/start; returns the session and what it saw.
local function started_session(fake)
  local s, seen = new_session(fake)
  s:prompt("hello")
  local init = fake.last("initialize")
  fake.send({ id = init.id, result = { coco = { taskId = "t1", taskDir = "/tasks/t1", codexVersion = "0.169.0" } } })
  fake.send({ id = fake.last("thread/start").id, result = { thread = { id = "th1" } } })
  fake.send({ id = fake.last("turn/start").id, result = { turn = { id = "tu1", status = "inProgress" } } })
  return s, seen
end

T.test("routing: nothing starts until a prompt; then initialize, initialized, thread/start, turn/start", function()
  local fake = fake_bridge()
  local s = new_session(fake)
  T.eq(#fake.spawns, 0, "no bridge before a command")
  started_session(fake)
  T.eq(fake.spawns[1].argv, { "/opt/coco", "bridge", "--codex", "/opt/codex", "--task-root", "/tasks" })
  T.eq(fake.spawns[1].spec.cwd, "/project")
  T.eq(fake.methods(), { "initialize", "initialized", "thread/start", "turn/start" })
  local init = fake.sent[1]
  T.eq(init.params.capabilities, { coco = { approvals = "prompt" } })
  T.eq(init.params.clientInfo.name, "coco.nvim")
  T.eq(fake.last("thread/start").params, { cwd = "/project" })
  T.eq(fake.last("turn/start").params, { threadId = "th1", input = { { type = "text", text = "hello" } } })
  T.eq(s.phase, "stopped", "the other session never started")
end)

T.test("routing: notifications reach listeners; another thread's do not, the bridge's do", function()
  local fake = fake_bridge()
  local s, seen = started_session(fake)
  T.eq(s.turn_id, "tu1")
  fake.send(
    { method = "turn/started", params = { threadId = "th1", turn = { id = "tu1" } } },
    { method = "item/agentMessage/delta", params = { threadId = "th1", itemId = "m1", delta = "Hi" } },
    { method = "item/agentMessage/delta", params = { threadId = "old-thread", itemId = "m0", delta = "stale" } },
    { method = "coco/exec/completed", params = { agentId = "w1", threadId = "worker-thread", status = "completed" } },
    { method = "turn/completed", params = { threadId = "th1", turn = { id = "tu1", status = "completed" } } }
  )
  T.eq(methods(seen), { "coco.prompt", "turn/started", "item/agentMessage/delta", "coco/exec/completed", "turn/completed" })
  T.eq(s.turn_id, nil, "the turn ended")
end)

T.test("routing: the bridge's requests go to their handler; unknown ones get an error", function()
  local fake = fake_bridge()
  local s = started_session(fake)
  local asked
  s:handle("coco/approval/request", function(params, respond)
    asked = { params = params, respond = respond }
  end)
  fake.send({ id = 0, method = "coco/approval/request", params = { gateId = "g1", options = { { id = "accept" } } } })
  fake.send({ id = 1, method = "item/tool/call", params = {} })
  T.eq(asked.params.gateId, "g1")
  local refusal = fake.sent[#fake.sent]
  T.eq(refusal.id, 1)
  T.eq(refusal.error.code, -32601)
  asked.respond({ optionId = "accept" })
  T.eq(fake.sent[#fake.sent], { jsonrpc = "2.0", id = 0, result = { optionId = "accept" } })
end)

T.test("routing: a prompt during a turn steers it; an early interrupt waits for turn/started", function()
  local fake = fake_bridge()
  local s = started_session(fake)
  s:prompt("and also this")
  T.eq(fake.last("turn/steer").params, {
    threadId = "th1",
    expectedTurnId = "tu1",
    input = { { type = "text", text = "and also this" } },
  })
  -- Codex refuses turn/interrupt before turn/started: the interrupt waits for it.
  T.truthy(s:interrupt(), "an interrupt is accepted")
  T.eq(fake.last("turn/interrupt"), nil, "not sent before turn/started")
  fake.send({ method = "turn/started", params = { threadId = "th1", turn = { id = "tu1" } } })
  T.eq(fake.last("turn/interrupt").params, { threadId = "th1", turnId = "tu1" })
end)

T.test("routing: after the bridge dies, the next prompt continues the task and resumes the thread", function()
  local fake = fake_bridge()
  local s, seen = started_session(fake)
  fake.current.handlers.on_stderr("panic: something\nlast words\n")
  fake.current.handlers.on_exit(137)
  fake.settle()
  T.eq(s.phase, "stopped")
  T.eq(s.error, "The bridge exited with code 137")
  local exited
  for _, e in ipairs(seen) do
    if e.method == "coco.bridgeExited" then
      exited = e.params
    end
  end
  T.eq(exited.code, 137)
  T.contains(exited.stderr, "last words")
  local before = #fake.sent
  s:prompt("again")
  T.eq(#fake.spawns, 2, "a new bridge")
  T.eq(vim.list_slice(fake.spawns[2].argv, 7), { "--task", "/tasks/t1" })
  fake.send({ id = fake.last("initialize").id, result = { coco = { taskId = "t1", taskDir = "/tasks/t1" } } })
  T.eq(fake.last("thread/resume").params, { threadId = "th1" })
  fake.send({ id = fake.last("thread/resume").id, result = { thread = { id = "th1" } } })
  T.eq(fake.last("turn/start").params.threadId, "th1")
  local after = {}
  for i = before + 1, #fake.sent do
    after[#after + 1] = fake.sent[i].method
  end
  T.eq(after, { "initialize", "initialized", "thread/resume", "turn/start" })
end)

T.test("routing: a bridge that refuses to continue the task: the next command starts a new one", function()
  local fake = fake_bridge()
  local s, seen = started_session(fake)
  fake.current.handlers.on_exit(137)
  fake.settle()
  local before = #seen
  s:prompt("again")
  T.eq(vim.list_slice(fake.spawns[2].argv, 7), { "--task", "/tasks/t1" })
  -- `coco bridge --task` exits before initialize when it cannot continue (the directory is gone).
  fake.current.handlers.on_stderr("coco: --task: no task '/tasks/t1' under /tasks\n")
  fake.current.handlers.on_exit(2)
  fake.settle()
  local said = vim.tbl_map(function(e)
    return e.method .. ": " .. tostring(e.params.text)
  end, vim.list_slice(seen, before + 1))
  T.contains(said, "coco.error: The bridge exited with code 2")
  T.contains(said, "coco.info: The task could not be continued; the next command starts a new one")
  T.not_contains(said, "refused initialize", "an exit is no refusal of initialize")
  s:prompt("and again")
  T.eq(#fake.spawns, 3)
  T.eq(#fake.spawns[3].argv, 6, "no --task")
  fake.send({ id = fake.last("initialize").id, result = { coco = { taskId = "t2", taskDir = "/tasks/t2" } } })
  T.eq(s.task_dir, "/tasks/t2")
  T.eq(fake.last("thread/resume").params, { threadId = "th1" }, "the thread is still worth a try")
end)

T.test("routing: a request pending when the bridge dies fails once", function()
  local fake = fake_bridge()
  local s = started_session(fake)
  local results = {}
  s:request("coco/status", nil, function(err)
    results[#results + 1] = err and err.code
  end)
  fake.current.handlers.on_exit(1)
  fake.settle()
  T.eq(results, { -32000 })
end)

T.test("routing: :CocoStop closes stdin and the next start is a new task", function()
  local fake = fake_bridge()
  local s = started_session(fake)
  s:stop(100)
  T.truthy(fake.spawns[1].stdin_closed, "stdin closed")
  T.eq(s.phase, "stopped")
  T.eq(s.error, nil, "an expected exit is no error")
  s:prompt("fresh")
  T.eq(#fake.spawns[2].argv, 6, "no --task after a stop")
end)

T.test("routing: a bridge that cannot start fails the prompt with advice, and nothing hangs", function()
  local c = config.build({ cmd = { "/nonexistent/coco", "bridge" } })
  local s = session_mod.new(c)
  local seen = {}
  s:subscribe(function(method, params)
    seen[#seen + 1] = { method = method, params = params }
  end)
  s:prompt("hello")
  T.eq(s.phase, "stopped")
  T.contains(s.error, "Cannot start the bridge: `/nonexistent/coco` is not executable")
  T.eq(s.error:find("Could not start a conversation", 1, true), 1)
  local errors = vim.tbl_filter(function(e)
    return e.method == "coco.error"
  end, seen)
  T.contains(errors[1].params.detail, ":checkhealth coco")
  T.contains(errors[#errors].params.text, "Could not start a conversation")
  local answered
  s:request("coco/status", nil, function(err)
    answered = err
  end)
  T.eq(answered.code, -32000, "a request fails at once")
end)
