-- Task directories (:CocoTasks): the list comes from `coco task ls --json`, or, with a coco that
-- lacks it, from the task.yaml files themselves; a task opens as the transcript `coco task show`
-- rebuilds from its directory. No bridge needs to run.
local compat = require("coco.compat")
local config_mod = require("coco.config")
local process = require("coco.process")
local View = require("coco.view")

local M = {}

local views = {} -- task id -> View, so opening a task twice reuses its buffer

function M.task_root(config)
  if config.task_root then
    return config.task_root
  end
  local coco_home = config.env.COCO_HOME or vim.env.COCO_HOME
  if coco_home and coco_home ~= "" then
    return coco_home .. "/tasks"
  end
  return vim.fn.expand("~/.coco/tasks")
end

-- The top-level scalar keys of a task.yaml (the writer double-quotes free text, JSON-style).
function M.parse_task_yaml(text)
  local task = {}
  for _, line in ipairs(vim.split(text, "\n", { plain = true })) do
    local key, value = line:match("^([%w_]+):%s*(.-)%s*$")
    if key and value ~= "" then
      if value:sub(1, 1) == '"' then
        local ok, decoded = pcall(vim.json.decode, value)
        value = ok and decoded or value:sub(2, -2)
      end
      task[key] = value
    end
  end
  return task
end

local function bridge_alive(pid)
  pid = tonumber(pid)
  if not pid or pid <= 0 then
    return false
  end
  local ok = compat.uv.kill(pid, 0)
  return ok == 0 or ok == true
end

-- Reads the task directories under root, oldest first.
function M.scan(root)
  local tasks = {}
  for _, file in ipairs(vim.fn.glob(root .. "/*/task.yaml", false, true)) do
    local ok, lines = pcall(vim.fn.readfile, file)
    if ok then
      local task = M.parse_task_yaml(table.concat(lines, "\n"))
      task.dir = vim.fn.fnamemodify(file, ":h")
      task.id = task.id or vim.fn.fnamemodify(task.dir, ":t")
      if task.status == "running" and not bridge_alive(task.bridge_pid) then
        task.status = "interrupted"
      end
      tasks[#tasks + 1] = task
    end
  end
  table.sort(tasks, function(a, b)
    return a.id < b.id
  end)
  return tasks
end

local function with_root(config, argv)
  if config.task_root then
    vim.list_extend(argv, { "--task-root", config.task_root })
  end
  return argv
end

-- callback(tasks) with the tasks oldest first.
function M.list(config, callback)
  local argv = with_root(config, vim.list_extend(config_mod.cli_prefix(config), { "task", "ls", "--json" }))
  process.run(argv, function(code, stdout)
    if code == 0 then
      local ok, tasks = pcall(vim.json.decode, stdout, { luanil = { object = true } })
      if ok and type(tasks) == "table" and compat.islist(tasks) then
        return callback(tasks)
      end
    end
    callback(M.scan(M.task_root(config)))
  end, { env = config.env })
end

function M.format(task)
  return ("%s  %-11s %s"):format(task.id or "?", task.status or "?", task.title or "")
end

-- Opens a task as its transcript, read from disk by `coco task show`.
function M.show(config, task)
  local argv = with_root(config, vim.list_extend(config_mod.cli_prefix(config), { "task", "show", task.dir or task.id }))
  process.run(argv, function(code, stdout, stderr)
    local id = task.id or "?"
    views[id] = views[id] or View.new({ name = "coco://task/" .. id, filetype = "coco", config = config })
    local view = views[id]
    local lines = vim.split(stdout, "\n", { plain = true })
    if code ~= 0 then
      lines = vim.split(("`coco task show` failed (exit code %d):\n%s"):format(code, stderr), "\n", { plain = true })
    end
    view:set_lines(lines)
    view:open(true)
  end, { env = config.env })
end

-- :CocoTasks: pick a task (newest first) and open it.
function M.pick(config)
  M.list(config, function(tasks)
    if #tasks == 0 then
      vim.notify("Coco: no tasks in " .. M.task_root(config), vim.log.levels.INFO)
      return
    end
    local newest_first = {}
    for i = #tasks, 1, -1 do
      newest_first[#newest_first + 1] = tasks[i]
    end
    vim.ui.select(newest_first, { prompt = "Coco tasks", kind = "coco_task", format_item = M.format }, function(task)
      if task then
        M.show(config, task)
      end
    end)
  end)
end

return M
