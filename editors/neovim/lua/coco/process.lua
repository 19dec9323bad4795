-- The bridge as a child process. The spawner is injectable (tests swap it for a fake); the
-- default one uses jobstart, which exists on every Neovim we support and delivers its callbacks
-- on the main loop.
local M = {}

-- The argv for `coco bridge`: the configured cmd, then the options the plugin owns.
function M.bridge_argv(config, task_dir)
  local argv = vim.deepcopy(config.cmd)
  if config.task_root then
    vim.list_extend(argv, { "--task-root", config.task_root })
  end
  if config.config then
    vim.list_extend(argv, { "--config", config.config })
  end
  if task_dir then
    -- Continue the task directory of the session that died (a new client.connected in it).
    vim.list_extend(argv, { "--task", task_dir })
  end
  return argv
end

-- Spawns argv with jobstart. handlers: on_stdout(chunk), on_stderr(chunk), on_exit(code).
-- Returns a handle {write(data) -> bool, close_stdin(), stop(), pid} or nil and an error text.
function M.jobstart_spawner(argv, spec, handlers)
  if vim.fn.executable(argv[1]) ~= 1 then
    return nil, ("`%s` is not executable (not found, or not on PATH)"):format(argv[1])
  end
  local ok, job = pcall(vim.fn.jobstart, argv, {
    cwd = spec.cwd,
    env = spec.env and next(spec.env) and spec.env or nil,
    -- jobstart splits output at "\n"; joining the list with "\n" restores the bytes exactly.
    on_stdout = function(_, data)
      handlers.on_stdout(table.concat(data, "\n"))
    end,
    on_stderr = function(_, data)
      handlers.on_stderr(table.concat(data, "\n"))
    end,
    on_exit = function(_, code)
      handlers.on_exit(code)
    end,
  })
  if not ok then
    return nil, tostring(job)
  end
  if job <= 0 then
    return nil, job == -1 and ("`%s` is not executable"):format(argv[1]) or "invalid arguments"
  end
  local pid = vim.fn.jobpid(job)
  return {
    pid = pid,
    write = function(data)
      local sent = pcall(vim.fn.chansend, job, data)
      return sent
    end,
    close_stdin = function()
      pcall(vim.fn.chanclose, job, "stdin")
    end,
    stop = function()
      pcall(vim.fn.jobstop, job)
    end,
  }
end

-- Runs a short command and calls on_done(code, stdout, stderr) on the main loop.
function M.run(argv, on_done, spec)
  spec = spec or {}
  local out, err = {}, {}
  local ok, job = pcall(vim.fn.jobstart, argv, {
    cwd = spec.cwd,
    env = spec.env and next(spec.env) and spec.env or nil,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      out = data
    end,
    on_stderr = function(_, data)
      err = data
    end,
    on_exit = function(_, code)
      vim.schedule(function()
        on_done(code, table.concat(out, "\n"), table.concat(err, "\n"))
      end)
    end,
  })
  if not ok or job <= 0 then
    vim.schedule(function()
      on_done(-1, "", ("cannot run `%s`: %s"):format(argv[1], ok and "not executable" or tostring(job)))
    end)
  end
end

-- Runs a short command and waits for it (at most timeout_ms): returns code, stdout, stderr.
-- For :checkhealth, which reports synchronously. code is -1 when it could not run or timed out.
function M.run_sync(argv, spec, timeout_ms)
  spec = spec or {}
  local out, err = {}, {}
  local ok, job = pcall(vim.fn.jobstart, argv, {
    env = spec.env and next(spec.env) and spec.env or nil,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      out = data
    end,
    on_stderr = function(_, data)
      err = data
    end,
  })
  if not ok or job <= 0 then
    return -1, "", ("cannot run `%s`"):format(argv[1])
  end
  local code = vim.fn.jobwait({ job }, timeout_ms or 10000)[1]
  if code < 0 then
    pcall(vim.fn.jobstop, job)
    return -1, "", ("`%s` did not finish in time"):format(table.concat(argv, " "))
  end
  return code, table.concat(out, "\n"), table.concat(err, "\n")
end

-- Keeps the last `max` lines of a stream (the bridge's stderr, for "why did it die").
local Tail = {}
Tail.__index = Tail

function M.tail(max)
  return setmetatable({ lines = {}, max = max, buffer = require("coco.jsonrpc").line_buffer() }, Tail)
end

-- Feeds a chunk; returns the lines it completed.
function Tail:feed(chunk)
  local done = self.buffer:feed(chunk)
  for _, line in ipairs(done) do
    self.lines[#self.lines + 1] = line
    if #self.lines > self.max then
      table.remove(self.lines, 1)
    end
  end
  return done
end

function Tail:text(n)
  local lines = self.lines
  local pending = self.buffer:pending()
  if pending ~= "" then
    lines = vim.list_extend(vim.deepcopy(lines), { pending })
  end
  local from = math.max(1, #lines - (n or #lines) + 1)
  return table.concat(vim.list_slice(lines, from, #lines), "\n")
end

return M
